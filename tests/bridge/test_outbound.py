"""Issue 13: the books address is checked against an allow-list after DNS, when it is
saved and again before every request, and the request goes to the address checked.

Found from outside: anyone with Account Settings could make the server POST the books
login to any host and port, read closed, open and non-HTTP ports apart from the error, and
see the remote service's own words in it. Each refused form and range below is refused
with its code and message and nothing saved; names are resolved through a patched
``socket.getaddrinfo`` (what the check calls), so no test depends on the network.
"""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import json
import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from casebridge.bridge import outbound
from casebridge.bridge.client import BooksRejected, BooksUnreachable, HttpBooksClient, worker
from casebridge.bridge.errors import BooksAddressRefused
from casebridge.bridge.models import BooksAddressConfirmation, BooksJob, Connection, RunState
from casebridge.bridge.services import connection as conn_services
from casebridge.cases.errors import PermissionDenied
from casebridge.cases.services import firms
from casebridge.core.models import AuditEvent
from tests.bridge.conftest import INTEGRATION_EMAIL, PASSWORD, work

GENERIC = "the books did not answer as a Casebridge books API"
SCREEN = "Account Settings → Integrations → Books → Allowed books addresses"
ODD = (
    "Write the books host as a name or a plain IP address (such as books.example.com, "
    "203.0.113.7 or [2001:db8::7]); forms such as 0x7f000001, 2130706433, 0177.0.0.1, "
    "127.1 or ::ffff:127.0.0.1 are refused."
)


USERINFO = (
    "The books address may not carry a user name or password (user@host); the integration "
    "user signs in with the fields below."
)


def not_allowed(where: str) -> str:
    return (
        f"The books at {where} are not on the allow-list: a firm administrator confirms this "
        f"host and port under {SCREEN}, or the server's CASEBRIDGE_BOOKS_ALLOWED_HOSTS lists it."
    )


def private(where: str) -> str:
    return (
        f"The books at {where} resolve to a private, link-local or reserved network address, "
        f"allowed only when a firm administrator confirmed this exact host and port ({SCREEN}) "
        "or the server's CASEBRIDGE_BOOKS_ALLOWED_HOSTS lists it."
    )


def metadata(where: str) -> str:
    return f"The books at {where} are a cloud metadata address, which is never allowed."


def loopback(where: str) -> str:
    return (
        f"The books at {where} are this server itself (loopback), allowed only when the "
        "server sets CASEBRIDGE_ALLOW_LOOPBACK_BOOKS=1."
    )


def https_required(where: str) -> str:
    return (
        f"The books at {where} must be reached over https:// (http:// only for the books on "
        "this server, or a host:port the server's CASEBRIDGE_BOOKS_HTTP_HOSTS lists)."
    )


# --- Fixtures --------------------------------------------------------------------------------


@pytest.fixture
def firm_people(db):
    firm = firms.firm_create(code="lopez-pi", name="Lopez Injury Attorneys")
    admin = firms.user_create(
        firm=firm,
        actor=None,
        email="admin@lopez.test",
        password=PASSWORD,
        first_name="Ana",
        last_name="Admin",
        is_firm_admin=True,
    )
    settings_holder = firms.user_create(
        firm=firm,
        actor=None,
        email="office@lopez.test",
        password=PASSWORD,
        first_name="Olga",
        last_name="Office",
        perm_admin_settings=True,
    )
    return firm, admin, settings_holder


@pytest.fixture
def no_loopback(settings):
    settings.DEBUG = False
    settings.BRIDGE_ALLOW_LOOPBACK_BOOKS = False


class FakeDns:
    """``socket.getaddrinfo`` for the names a test gives; an IP address resolves to itself
    (as the real one does, which the connection calls with the pinned address)."""

    def __init__(self) -> None:
        self.names: dict[str, list[list[str]]] = {}
        self.asked: list[str] = []
        self.real = socket.getaddrinfo

    def set(self, name: str, *answers: list[str]) -> None:
        """``name`` resolves to ``answers[0]``, then ``answers[1]``..., the last one after."""
        self.names[name] = list(answers)

    def __call__(self, host, port, *args, **kwargs):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            self.asked.append(host)
            answers = self.names.get(host)
            if answers is None:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
            ips = answers.pop(0) if len(answers) > 1 else answers[0]
            return [
                (
                    socket.AF_INET6 if ":" in ip else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (ip, port, 0, 0) if ":" in ip else (ip, port),
                )
                for ip in ips
            ]
        return self.real(host, port, *args, **kwargs)


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    fake = FakeDns()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


def _activate(firm, actor, books_url: str) -> BooksJob:
    return conn_services.connection_activate(
        firm=firm,
        actor=actor,
        books_url=books_url,
        books_firm_code="lopez-pi",
        username=INTEGRATION_EMAIL,
        password=PASSWORD,
    )


def _refused(firm, actor, books_url: str) -> BooksAddressRefused:
    with pytest.raises(BooksAddressRefused) as caught:
        _activate(firm, actor, books_url)
    assert caught.value.field == "books_url"
    assert caught.value.http_status == 422
    assert not BooksJob.objects.exists()  # nothing saved: no sign-in queued
    assert not Connection.objects.exists()
    return caught.value


# --- Refused forms ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("books_url", "code", "message"),
    [
        ("http://0x7f000001/books/api/v1", "books_address_odd_form", ODD),
        ("http://2130706433/books/api/v1", "books_address_odd_form", ODD),
        ("http://0177.0.0.1/books/api/v1", "books_address_odd_form", ODD),
        ("http://127.1/books/api/v1", "books_address_odd_form", ODD),
        ("http://0x7f.0.0.1/books/api/v1", "books_address_odd_form", ODD),
        ("http://127.000.000.001/books/api/v1", "books_address_odd_form", ODD),
        ("http://[::ffff:127.0.0.1]/books/api/v1", "books_address_odd_form", ODD),
        ("http://[::ffff:7f00:1]/books/api/v1", "books_address_odd_form", ODD),
        ("http://[::127.0.0.1]/books/api/v1", "books_address_odd_form", ODD),
        ("http://[fe80::1%25eth0]/books/api/v1", "books_address_odd_form", ODD),
        ("https://books.example.com./books/api/v1", "books_address_odd_form", ODD),
        (
            "https://user@books.example.com/books/api/v1",
            "books_address_userinfo",
            "The books address may not carry a user name or password (user@host); the "
            "integration user signs in with the fields below.",
        ),
        (
            "http://admin:secret@127.0.0.1:8000/books/api/v1",
            "books_address_userinfo",
            "The books address may not carry a user name or password (user@host); the "
            "integration user signs in with the fields below.",
        ),
        (
            "ftp://books.example.com/books/api/v1",
            "books_address_scheme",
            "The books address starts with http:// or https://.",
        ),
        (
            "file:///etc/passwd",
            "books_address_scheme",
            "The books address starts with http:// or https://.",
        ),
        (
            "gopher://127.0.0.1:25/",
            "books_address_scheme",
            "The books address starts with http:// or https://.",
        ),
        (
            "books.example.com/books/api/v1",
            "books_address_invalid",
            "The books address is not a web address such as https://books.example.com/books/api/v1.",
        ),
        (
            "https://books.example.com/books/api/v1?next=x",
            "books_address_invalid",
            "The books address is not a web address such as https://books.example.com/books/api/v1.",
        ),
        (
            "https://[::1/books/api/v1",
            "books_address_invalid",
            "The books address is not a web address such as https://books.example.com/books/api/v1.",
        ),
        (
            "https://books.example.com:0/books/api/v1",
            "books_address_port",
            "The books address's port must be a number from 1 to 65535.",
        ),
        (
            "https://books.example.com:65536/books/api/v1",
            "books_address_port",
            "The books address's port must be a number from 1 to 65535.",
        ),
        (
            "https://books.example.com:-1/books/api/v1",
            "books_address_port",
            "The books address's port must be a number from 1 to 65535.",
        ),
        (
            "https://books.example.com:+443/books/api/v1",
            "books_address_port",
            "The books address's port must be a number from 1 to 65535.",
        ),
        (
            "https://169.254.169.254/latest/meta-data",
            "books_address_metadata",
            metadata("169.254.169.254:443"),
        ),
        (
            "http://metadata.google.internal/computeMetadata/v1",
            "books_address_metadata",
            metadata("metadata.google.internal:80"),
        ),
        (
            "https://[fd00:ec2::254]/latest",
            "books_address_metadata",
            metadata("[fd00:ec2::254]:443"),
        ),
        ("http://100.100.100.200/latest", "books_address_metadata", metadata("100.100.100.200:80")),
        (
            "https://books.example.com/books/api/v1",
            "books_address_not_allowed",
            not_allowed("books.example.com:443"),
        ),
        (
            "https://203.0.113.9:8443/books/api/v1",
            "books_address_not_allowed",
            not_allowed("203.0.113.9:8443"),
        ),
    ],
)
def test_a_refused_books_address_is_refused_at_its_field_and_nothing_is_saved(
    firm_people, no_loopback, dns, books_url, code, message
):
    firm, admin, _ = firm_people
    refusal = _refused(firm, admin, books_url)
    assert (refusal.code, refusal.message) == (code, message)
    assert dns.asked == []  # refused before any name was resolved


@pytest.mark.parametrize(
    "ip",
    [
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.10",
        "169.254.10.10",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 (an address refused, not bound)
        "224.0.0.1",
        "255.255.255.255",
        "198.18.0.1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "::",
        "ff02::1",
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    ],
)
def test_a_private_or_reserved_address_is_refused_unless_its_exact_host_and_port_is_listed(
    firm_people, no_loopback, settings, ip
):
    firm, admin, _ = firm_people
    host = f"[{ip}]" if ":" in ip else ip
    settings.BRIDGE_BOOKS_ALLOWED_HOSTS = host  # the host on any port: public addresses only
    refusal = _refused(firm, admin, f"https://{host}:8443/books/api/v1")
    assert (refusal.code, refusal.message) == ("books_address_private", private(f"{host}:8443"))

    settings.BRIDGE_BOOKS_ALLOWED_HOSTS = f"{host}:8443"  # exactly this: private allowed
    job = _activate(firm, admin, f"https://{host}:8443/books/api/v1")
    assert job.params["books_url"] == f"https://{host}:8443/books/api/v1"


def test_a_public_name_that_resolves_to_a_private_address_is_refused(
    firm_people, no_loopback, settings, dns
):
    firm, admin, _ = firm_people
    settings.BRIDGE_BOOKS_ALLOWED_HOSTS = "books.example.com"
    dns.set("books.example.com", ["10.20.30.40"])
    refusal = _refused(firm, admin, "https://books.example.com/books/api/v1")
    assert (refusal.code, refusal.message) == (
        "books_address_private",
        private("books.example.com:443"),
    )
    assert dns.asked == ["books.example.com"]


def test_every_address_a_name_resolves_to_is_checked_not_just_the_first(
    firm_people, no_loopback, settings, dns
):
    firm, admin, _ = firm_people
    settings.BRIDGE_BOOKS_ALLOWED_HOSTS = "books.example.com"
    dns.set("books.example.com", ["93.184.216.34", "192.168.0.5"])
    refusal = _refused(firm, admin, "https://books.example.com/books/api/v1")
    assert refusal.code == "books_address_private"

    dns.set("books.example.com", ["93.184.216.34", "2606:2800:220:1::1"])
    job = _activate(firm, admin, "HTTPS://Books.Example.com:443/books/api/v1/")
    assert job.params["books_url"] == "https://books.example.com:443/books/api/v1"


@pytest.mark.parametrize(
    "listed", ["169.254.169.254:80", "169.254.169.254", "metadata.internal.test:80"]
)
def test_a_metadata_address_is_refused_even_when_listed(
    firm_people, no_loopback, settings, dns, listed
):
    firm, admin, _ = firm_people
    settings.BRIDGE_BOOKS_ALLOWED_HOSTS = listed
    dns.set("metadata.internal.test", ["169.254.169.254"])
    url = f"http://{listed if ':' in listed else listed + ':80'}/latest"
    where = listed if ":" in listed else f"{listed}:80"
    refusal = _refused(firm, admin, url)
    assert (refusal.code, refusal.message) == ("books_address_metadata", metadata(where))


def test_a_name_that_does_not_resolve_is_refused(firm_people, no_loopback, settings, dns):
    firm, admin, _ = firm_people
    settings.BRIDGE_BOOKS_ALLOWED_HOSTS = "books.example.com"
    refusal = _refused(firm, admin, "https://books.example.com/books/api/v1")
    assert (refusal.code, refusal.message) == (
        "books_address_unresolvable",
        "The books host books.example.com:443 could not be resolved to a network address.",
    )


def test_a_name_that_does_not_resolve_in_time_is_refused_without_waiting_for_it(
    firm_people, no_loopback, settings, monkeypatch
):
    """A listed name whose DNS never answers: the save is refused once the connect timeout
    is over, and does not wait for the resolver."""
    firm, admin, _ = firm_people
    settings.BRIDGE_BOOKS_ALLOWED_HOSTS = "books.example.com"
    settings.BRIDGE_CONNECT_TIMEOUT = 0.2
    release = threading.Event()
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: release.wait() and [])
    try:
        refusal = _refused(firm, admin, "https://books.example.com/books/api/v1")
    finally:
        release.set()
    assert refusal.code == "books_address_unresolvable"


def test_http_needs_loopback_or_the_servers_explicit_setting(
    firm_people, no_loopback, settings, dns
):
    firm, admin, _ = firm_people
    settings.BRIDGE_BOOKS_ALLOWED_HOSTS = "books.example.com"
    dns.set("books.example.com", ["93.184.216.34"])
    refusal = _refused(firm, admin, "http://books.example.com:8080/books/api/v1")
    assert (refusal.code, refusal.message) == (
        "books_address_https_required",
        https_required("books.example.com:8080"),
    )
    settings.BRIDGE_BOOKS_HTTP_HOSTS = "books.example.com:8080"
    assert _activate(firm, admin, "http://books.example.com:8080/books/api/v1").pk


@pytest.mark.parametrize(
    ("books_url", "where"),
    [
        ("http://127.0.0.1:8000/books/api/v1", "127.0.0.1:8000"),
        ("http://127.8.9.10:8000/books/api/v1", "127.8.9.10:8000"),
        ("http://[::1]:8000/books/api/v1", "[::1]:8000"),
        ("http://localhost:8000/books/api/v1", "localhost:8000"),
    ],
)
def test_loopback_is_refused_without_the_allowance_and_accepted_with_it(
    firm_people, no_loopback, settings, dns, books_url, where
):
    firm, admin, _ = firm_people
    dns.set("localhost", ["127.0.0.1", "::1"])
    refusal = _refused(firm, admin, books_url)  # not listed: refused before resolving
    assert (refusal.code, refusal.message) == ("books_address_not_allowed", not_allowed(where))
    settings.BRIDGE_BOOKS_ALLOWED_HOSTS = where  # even listed exactly
    refusal = _refused(firm, admin, books_url)
    assert (refusal.code, refusal.message) == ("books_address_loopback", loopback(where))

    settings.BRIDGE_BOOKS_ALLOWED_HOSTS = ""
    settings.BRIDGE_ALLOW_LOOPBACK_BOOKS = True  # the one-machine set-up; http is fine
    assert _activate(firm, admin, books_url).params["books_url"] == books_url


def test_debug_allows_loopback(firm_people, no_loopback, settings):
    firm, admin, _ = firm_people
    settings.DEBUG = True
    assert _activate(firm, admin, "http://127.0.0.1:8000/books/api/v1").pk


def test_a_malformed_setting_stops_the_server_naming_the_entry(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.BRIDGE_BOOKS_ALLOWED_HOSTS = "books.example.com, 0x7f000001:80"
    with pytest.raises(ImproperlyConfigured) as caught:
        outbound.policy()
    assert str(caught.value) == f"CASEBRIDGE_BOOKS_ALLOWED_HOSTS: '0x7f000001:80': {ODD}"


# --- The administrator's confirmation ----------------------------------------------------------


def test_only_a_firm_administrator_confirms_an_address_and_it_is_audited(
    firm_people, no_loopback, dns
):
    firm, admin, settings_holder = firm_people
    with pytest.raises(PermissionDenied) as caught:
        conn_services.books_address_confirm(
            firm=firm, actor=settings_holder, address="books.lopez.internal:8443"
        )
    assert caught.value.message == "only a firm administrator can confirm a books address"
    assert not BooksAddressConfirmation.objects.exists()
    assert not AuditEvent.objects.filter(entity_type="books_address").exists()
    # nor may the settings holder use it
    refusal = _refused(firm, settings_holder, "https://books.lopez.internal:8443/books/api/v1")
    assert refusal.code == "books_address_not_allowed"

    confirmation = conn_services.books_address_confirm(
        firm=firm, actor=admin, address="https://Books.Lopez.Internal:8443/books/api/v1"
    )
    assert (confirmation.host, confirmation.port, confirmation.confirmed_by) == (
        "books.lopez.internal",
        8443,
        admin,
    )
    event = AuditEvent.objects.get(entity_type="books_address")
    assert (event.action, event.actor_id, event.firm_id, event.after) == (
        "confirm_address",
        admin.pk,
        firm.pk,
        {"host": "books.lopez.internal", "port": 8443},
    )
    # confirmed exactly: on a private network too, for anyone with Account Settings
    dns.set("books.lopez.internal", ["10.0.0.9"])
    job = _activate(firm, settings_holder, "https://books.lopez.internal:8443/books/api/v1")
    assert job.state == RunState.QUEUED
    # another port of the same host is not confirmed
    with pytest.raises(BooksAddressRefused) as other:
        _activate(firm, admin, "https://books.lopez.internal:9443/books/api/v1")
    assert other.value.code == "books_address_not_allowed"

    with pytest.raises(PermissionDenied):
        conn_services.books_address_remove(
            firm=firm, actor=settings_holder, confirmation_id=confirmation.pk
        )
    conn_services.books_address_remove(firm=firm, actor=admin, confirmation_id=confirmation.pk)
    assert not BooksAddressConfirmation.objects.exists()
    assert list(
        AuditEvent.objects.filter(entity_type="books_address")
        .order_by("pk")
        .values_list("action", "before")
    ) == [
        ("confirm_address", None),
        ("remove_address", {"host": "books.lopez.internal", "port": 8443}),
    ]


@pytest.mark.parametrize(
    ("address", "code", "message"),
    [
        ("169.254.169.254:80", "books_address_metadata", metadata("169.254.169.254:80")),
        (
            "metadata.google.internal:80",
            "books_address_metadata",
            metadata("metadata.google.internal:80"),
        ),
        ("127.0.0.1:8000", "books_address_loopback", loopback("127.0.0.1:8000")),
        ("[::1]:8000", "books_address_loopback", loopback("[::1]:8000")),
        ("localhost:8000", "books_address_loopback", loopback("localhost:8000")),
        (
            "books.example.com",
            "books_address_port",
            "The books address's port must be a number from 1 to 65535.",
        ),
        ("0x7f000001:80", "books_address_odd_form", ODD),
        (
            "user@books.example.com:443",
            "books_address_userinfo",
            USERINFO,
        ),
    ],
)
def test_a_confirmation_of_a_metadata_loopback_or_odd_address_is_refused(
    firm_people, address, code, message
):
    firm, admin, _ = firm_people
    with pytest.raises(BooksAddressRefused) as caught:
        conn_services.books_address_confirm(firm=firm, actor=admin, address=address)
    assert (caught.value.code, caught.value.message, caught.value.field) == (
        code,
        message,
        "address",
    )
    assert not BooksAddressConfirmation.objects.exists()
    assert not AuditEvent.objects.filter(entity_type="books_address").exists()


# --- Checked again before every request, and pinned ----------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append(str(self.headers.get("Host")))
        body = json.dumps({"error": {"code": "invalid_credentials", "message": "no"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def http_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_the_request_goes_to_the_checked_address_and_a_rebound_name_is_refused(
    firm_people, settings, dns
):
    """DNS rebinding: the name resolves to an allowed address at the check and to another
    a moment later. The connection goes to the address checked (the name is resolved once
    per request, by the check), and the next request checks again."""
    _Recorder.seen = []
    with http_server(_Recorder) as port:
        where = f"books.lopez.test:{port}"
        dns.set("books.lopez.test", ["127.0.0.1"], ["10.0.0.1"])
        with worker():
            client = HttpBooksClient(f"http://{where}/books/api/v1", timeout=5.0)
            try:
                with pytest.raises(BooksRejected) as first:  # reached: the books refuse
                    client.session_create(firm_code="x", username="u", password="p")
                assert first.value.code == "invalid_credentials"
                with pytest.raises(BooksUnreachable) as second:
                    client.session_create(firm_code="x", username="u", password="p")
            finally:
                client.close()
    assert _Recorder.seen == [where]  # once, with the name in Host; never after the rebind
    assert dns.asked == ["books.lopez.test", "books.lopez.test"]
    assert (second.value.code, second.value.message) == (
        "books_address_not_allowed",
        not_allowed(where),
    )


def test_the_worker_checks_a_saved_address_again_before_it_sends(
    firm_people, no_loopback, settings
):
    """An address accepted once (the allowance then set) is refused when the rules change:
    the sign-in is refused by the worker with the check's code, and nothing is sent."""
    firm, admin, _ = firm_people
    _Recorder.seen = []
    with http_server(_Recorder) as port:
        settings.BRIDGE_ALLOW_LOOPBACK_BOOKS = True
        job = _activate(firm, admin, f"http://127.0.0.1:{port}/books/api/v1")
        settings.BRIDGE_ALLOW_LOOPBACK_BOOKS = False
        work(firm.pk)
    job.refresh_from_db()
    assert (job.state, job.error_code, job.error_field, job.error_message) == (
        RunState.FAILED,
        "books_address_not_allowed",
        "books_url",
        not_allowed(f"127.0.0.1:{port}"),
    )
    assert _Recorder.seen == []
    assert not Connection.objects.exists()


# --- What a failure says: the same words, whatever answered ----------------------------------

SECRET = "SECRET-7f3a internal admin token"


class _Secretive(http.server.BaseHTTPRequestHandler):
    """Another service on an allowed port, with things to say."""

    mode = "text"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, content_type, body = {
            "text": (500, "text/plain", SECRET.encode()),
            "books_shaped": (
                500,
                "application/json",
                json.dumps({"error": {"code": "internal_error", "message": SECRET}}).encode(),
            ),
            "html_404": (404, "text/html", f"<h1>{SECRET}</h1>".encode()),
            "odd_code": (
                400,
                "application/json",
                json.dumps({"error": {"code": SECRET, "message": SECRET}}).encode(),
            ),
            "json_200": (
                200,
                "application/json",
                json.dumps({"token": "t", "expires_at": SECRET}).encode(),
            ),
        }[self.mode]
        self.send_response(status, SECRET)  # the reason phrase too
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("mode", ["text", "books_shaped", "html_404", "odd_code", "json_200"])
def test_what_another_service_answers_is_never_repeated(firm_people, mode):
    firm, admin, _ = firm_people
    _Secretive.mode = mode
    with http_server(_Secretive) as port:
        url = f"http://127.0.0.1:{port}/books/api/v1"
        _activate(firm, admin, url)
        work(firm.pk)
    job = BooksJob.objects.get()
    assert (job.state, job.error_code, job.error_field, job.error_message) == (
        RunState.FAILED,
        "books_unreachable",
        "books_url",
        f"The books at {url} did not answer as a Casebridge books API. Check the address (it "
        "ends in /books/api/v1) and that the books are running, then save again.",
    )
    assert "SECRET" not in json.dumps(job.result)
    assert not Connection.objects.exists()


class _NotHttp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(b"SSH-2.0-OpenSSH_9.6 " + SECRET.encode() + b"\r\n")


class _Silent(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.server.release.wait()  # type: ignore[attr-defined]


@contextlib.contextmanager
def tcp_server(handler) -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.release = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.release.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_closed_a_silent_and_a_non_http_port_read_the_same(firm_people, settings):
    firm, admin, _ = firm_people
    settings.BRIDGE_HTTP_TIMEOUT = 0.5  # the silent port: the client gives up on it
    answers = []

    def sign_in_at(port: int) -> None:
        BooksJob.objects.all().delete()
        _activate(firm, admin, f"http://127.0.0.1:{port}/books/api/v1")
        work(firm.pk)
        job = BooksJob.objects.get()
        answers.append(
            (job.error_code, job.error_field, job.error_message.replace(str(port), "PORT"))
        )

    sign_in_at(_closed_port())
    with tcp_server(_NotHttp) as port:
        sign_in_at(port)
    with tcp_server(_Silent) as port:
        sign_in_at(port)
    assert (
        answers
        == [
            (
                "books_unreachable",
                "books_url",
                "The books at http://127.0.0.1:PORT/books/api/v1 did not answer as a Casebridge "
                "books API. Check the address (it ends in /books/api/v1) and that the books are "
                "running, then save again.",
            )
        ]
        * 3
    )


def _self_signed(tmp_path, name: str) -> tuple[str, str]:
    """A certificate for ``name`` that is its own authority, and its key (PEM files)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "books.pem", tmp_path / "books.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


def test_https_goes_to_the_checked_address_and_checks_the_certificate_against_the_name(
    firm_people, dns, monkeypatch, tmp_path
):
    """Pinned to the IP address, yet TLS still names the books: the server name sent (SNI)
    and the certificate checked are the books' name, never the IP address."""
    import ssl

    cert_file, key_file = _self_signed(tmp_path, "books.lopez.test")
    monkeypatch.setenv("SSL_CERT_FILE", cert_file)  # the firm's own authority
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    dns.set("books.lopez.test", ["127.0.0.1"])
    dns.set("impostor.lopez.test", ["127.0.0.1"])
    try:
        with worker():
            client = HttpBooksClient(f"https://books.lopez.test:{port}/books/api/v1")
            try:
                with pytest.raises(BooksRejected) as reached:
                    client.session_create(firm_code="x", username="u", password="p")
            finally:
                client.close()
            client = HttpBooksClient(f"https://impostor.lopez.test:{port}/books/api/v1")
            try:
                with pytest.raises(BooksUnreachable) as impostor:
                    client.session_create(firm_code="x", username="u", password="p")
            finally:
                client.close()
    finally:
        server.shutdown()
        server.server_close()
    assert reached.value.code == "invalid_credentials"
    assert _Recorder.seen == [f"books.lopez.test:{port}"]
    assert names == ["books.lopez.test", "impostor.lopez.test"]
    # the certificate is not the impostor's: refused in the one message
    assert (impostor.value.code, impostor.value.message) == ("books_unreachable", GENERIC)


def test_clients_share_one_trust_store_per_process_and_a_new_one_is_read_when_it_changes(
    monkeypatch, tmp_path
):
    """A delivery run opens a client for itself and one for each lane: the trust store is
    read once, not once a client (70-230 ms each on the 2-core machine: issue 12); a trust
    store named anew (SSL_CERT_FILE) is read anew."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    first = HttpBooksClient("http://127.0.0.1:9/books/api/v1")
    loads: list[bool] = []
    load = outbound.httpx.create_ssl_context
    monkeypatch.setattr(
        outbound.httpx, "create_ssl_context", lambda **kw: loads.append(True) or load(**kw)
    )
    second = HttpBooksClient("http://127.0.0.1:9/books/api/v1")
    try:
        assert loads == []  # the second client's store is the first's
        assert outbound.ssl_context() is outbound.ssl_context()
        cert_file, _ = _self_signed(tmp_path, "books.lopez.test")
        monkeypatch.setenv("SSL_CERT_FILE", cert_file)
        assert outbound.ssl_context() is not outbound._ssl_context(None, None)
        assert outbound.ssl_context() is outbound.ssl_context()
        assert loads == [True]
    finally:
        first.close()
        second.close()
