-- Casebridge's database roles on PostgreSQL (issue 13; ADR "Settings fail closed; the
-- application's database role").
--
-- Two roles:
--   owner  (default casebridge_owner)  owns the schema's tables: `manage.py migrate` runs as it,
--                                      and nothing else does.
--   app    (default casebridge_app)    what the web processes and the workers connect as:
--                                      SELECT, INSERT, UPDATE, DELETE on ordinary tables, the
--                                      sequences, and nothing more. It owns nothing, so it can
--                                      never TRUNCATE, DROP, ALTER, or DISABLE TRIGGER on any
--                                      table; on the append-only tables (journal entries,
--                                      postings, audit events) it may only read and insert:
--                                      the triggers that refuse UPDATE and DELETE there are
--                                      then a second wall, not the only one.
--
-- Run it with psql as a superuser (or a role with CREATEROLE that may grant on the tables),
-- connected to the Casebridge database:
--
--   psql "postgres://postgres@db-host:5432/casebridge" -v ON_ERROR_STOP=1 \
--        -v owner=casebridge_owner -v app=casebridge_app -f scripts/db/roles.sql
--
--   1. once, before the first `manage.py migrate` (it creates the roles when missing; give
--      each a password afterwards: \password casebridge_owner, \password casebridge_app);
--   2. again after every `manage.py migrate`: it is idempotent, and it is what takes UPDATE
--      and DELETE off an append-only table that a migration created. Tables created by
--      later migrations get the ordinary grants by themselves (ALTER DEFAULT PRIVILEGES
--      below), as long as migrations run as the owner.
--
-- Then: migrations with DATABASE_URL=postgres://casebridge_owner:...@db-host/casebridge,
-- web and workers with DATABASE_URL=postgres://casebridge_app:...@db-host/casebridge.
--
-- A database where the application's role already owns the tables (as before this script)
-- is moved over by the REASSIGN OWNED below: run the script with -v app=<that role>.
--
-- The append-only tables are listed in casebridge.append_only below; a migration that adds
-- one (a table with a trigger refusing UPDATE or DELETE) adds it there too.

\set ON_ERROR_STOP 1
SELECT set_config('casebridge.owner_role', :'owner', false),
       set_config('casebridge.app_role', :'app', false),
       set_config('casebridge.append_only',
                  'books_journalentry,books_posting,core_auditevent', false);

-- The roles, when missing. LOGIN without a password: set one with \password.
DO $$
DECLARE
  owner_role text := current_setting('casebridge.owner_role');
  app_role text := current_setting('casebridge.app_role');
BEGIN
  IF owner_role = app_role THEN
    RAISE EXCEPTION 'the owner and the application must be two roles (both are %)', app_role;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = owner_role) THEN
    EXECUTE format('CREATE ROLE %I LOGIN', owner_role);
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = app_role) THEN
    EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION '
                   'NOBYPASSRLS', app_role);
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = app_role AND (rolsuper OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role % is a superuser or bypasses row security: not an application role',
      app_role;
  END IF;
END $$;

-- Whatever the application's role owns in this database (tables made when it ran the
-- migrations itself) passes to the owner.
REASSIGN OWNED BY :"app" TO :"owner";

-- The database and the schema: the app connects, may use temporary tables (statement
-- imports stage their lines in one), and may create nothing in the schema.
GRANT CONNECT, TEMPORARY ON DATABASE :"DBNAME" TO :"app";
-- The global search's trigram indexes (ADR 0031) need pg_trgm, and its accent folding
-- unaccent, which only a superuser (or the database's owner) may create: made here, so the
-- owner's migrations find them.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;
GRANT USAGE, CREATE ON SCHEMA public TO :"owner";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM :"app";
GRANT USAGE ON SCHEMA public TO :"app";

-- Every table and sequence there now: exactly the ordinary grants, nothing else (no
-- TRUNCATE, REFERENCES or TRIGGER), then less on the append-only tables and the migration
-- record.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM :"app";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app";

DO $$
DECLARE
  app_role text := current_setting('casebridge.app_role');
  name text;
BEGIN
  FOREACH name IN ARRAY string_to_array(current_setting('casebridge.append_only'), ',') LOOP
    IF to_regclass(format('public.%I', name)) IS NOT NULL THEN
      EXECUTE format('REVOKE UPDATE, DELETE ON public.%I FROM %I', name, app_role);
    END IF;
  END LOOP;
  -- migrations are the owner's business; the app may read which ran
  IF to_regclass('public.django_migrations') IS NOT NULL THEN
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON public.django_migrations FROM %I', app_role);
  END IF;
END $$;

-- Tables and sequences the owner creates later (the next migrations) get the same
-- ordinary grants without running this script again.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO :"app";
