"""The gear screens: Users (pencil -> Accounting -> Records Time), Settings -> Features,
Areas of Practice, Rates/Codes -> Activity Code, Chart of Accounts, Audit Trail."""

from __future__ import annotations

import json
import re

from django.urls import reverse

from casebridge.books.models import ActivityCode, AreaOfPractice, Firm, GLAccount, User
from casebridge.books.services import setup
from casebridge.core.models import AuditEvent

from .conftest import HX, text
from .test_auth_screens import field_error

# --- Users -------------------------------------------------------------------------------


def user_form(user: User, **changes):
    data = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "initials": user.initials,
        "gl_account_extension": user.gl_account_extension,
        "role": user.role,
        "tab": "general",
    }
    for flag in ("is_active", "records_time", "is_integration_user"):
        if getattr(user, flag):
            data[flag] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_user_list_has_a_pencil_per_user(admin_client, admin, attorney):
    html = text(admin_client.get(reverse("books:users")))
    assert 'aria-label="Edit admin@smith.test"' in html
    assert 'aria-label="Edit Sam.Smith@smith.test"' in html
    assert "Add user" in html


def test_the_pencil_opens_a_pop_up_with_general_and_accounting_tabs(admin_client, attorney):
    response = admin_client.get(reverse("books:user_edit", args=[attorney.pk]), **HX)
    html = text(response)
    assert html.lstrip().startswith("<dialog")
    assert 'role="tab"' in html
    assert ">General</button>" in html
    assert ">Accounting</button>" in html
    assert 'class="switch-label">Records Time</span>' in html
    assert "GL account extension" in html


def test_saving_records_time_updates_the_user_and_the_row(admin_client, admin, attorney):
    User.objects.filter(pk=attorney.pk).update(records_time=False)
    attorney.refresh_from_db()
    response = admin_client.post(
        reverse("books:user_edit", args=[attorney.pk]),
        user_form(attorney, records_time="on", gl_account_extension="-SS", tab="accounting"),
        **HX,
    )
    assert response.status_code == 200
    assert response["HX-Reswap"] == "none"
    assert json.loads(response["HX-Trigger-After-Swap"]) == {"casebridge:close-modal": True}
    html = text(response)
    assert f'<tr id="user-row-{attorney.pk}" hx-swap-oob="true"' in html
    assert ">On</span>" in html
    assert "Saved Sam.Smith@smith.test." in html
    attorney.refresh_from_db()
    assert attorney.records_time is True
    assert attorney.gl_account_extension == "-SS"
    event = AuditEvent.objects.filter(action="change", entity_type="user").get()
    assert event.before == {"records_time": False, "gl_account_extension": ""}
    assert event.after == {"records_time": True, "gl_account_extension": "-SS"}
    assert event.actor_id == admin.pk


def test_saving_without_htmx_redirects_to_the_list(admin_client, attorney):
    response = admin_client.post(
        reverse("books:user_edit", args=[attorney.pk]), user_form(attorney, records_time=None)
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("books:users")
    attorney.refresh_from_db()
    assert attorney.records_time is False


def test_saving_nothing_changes_nothing(admin_client, attorney):
    admin_client.post(reverse("books:user_edit", args=[attorney.pk]), user_form(attorney), **HX)
    assert not AuditEvent.objects.filter(action="change", entity_type="user").exists()


def test_a_duplicate_email_is_shown_next_to_the_email(admin_client, admin, attorney):
    response = admin_client.post(
        reverse("books:user_edit", args=[attorney.pk]),
        user_form(attorney, email="ADMIN@smith.test", records_time=None),
        **HX,
    )
    assert response.status_code == 422
    html = text(response)
    assert html.lstrip().startswith("<form")  # only the form is swapped, the dialog stays
    assert "already exists in this firm" in field_error(html, "email")
    attorney.refresh_from_db()
    assert (attorney.email, attorney.records_time) == ("Sam.Smith@smith.test", True)


def test_an_error_on_the_accounting_tab_opens_that_tab(admin_client, attorney):
    response = admin_client.post(
        reverse("books:user_edit", args=[attorney.pk]),
        user_form(attorney, gl_account_extension="x" * 21),
        **HX,
    )
    html = text(response)
    tab = 'id="user-tab-accounting" data-tab="accounting" aria-controls="user-panel-accounting"'
    assert f'{tab} aria-selected="true"' in html
    assert "at most 20 characters" in field_error(html, "gl_account_extension")


def test_an_administrator_cannot_remove_their_own_role(admin_client, admin):
    response = admin_client.post(
        reverse("books:user_edit", args=[admin.pk]), user_form(admin, role="accountant")
    )
    assert response.status_code == 422
    assert "You cannot remove your own administrator role" in field_error(text(response), "role")
    admin.refresh_from_db()
    assert (admin.is_admin, admin.role) == (True, "administrator")


def test_the_pop_up_shows_the_integration_user_switch(admin_client, attorney):
    html = text(admin_client.get(reverse("books:user_edit", args=[attorney.pk]), **HX))
    assert 'class="switch-label">Designated integration user</span>' in html
    assert "The user case management signs in as. Only one per firm." in html
    general = html[html.index('id="user-panel-general"') : html.index('id="user-panel-accounting"')]
    assert 'name="is_integration_user"' in general


def test_designating_the_integration_user(admin_client, admin, attorney):
    response = admin_client.post(
        reverse("books:user_edit", args=[attorney.pk]),
        user_form(attorney, is_integration_user="on"),
        **HX,
    )
    assert response.status_code == 200
    html = text(response)
    assert f'<tr id="user-row-{attorney.pk}" hx-swap-oob="true"' in html
    assert ">Integration user</span>" in html
    attorney.refresh_from_db()
    assert attorney.is_integration_user is True
    event = AuditEvent.objects.filter(action="change", entity_type="user").get()
    assert (event.before, event.after) == (
        {"is_integration_user": False},
        {"is_integration_user": True},
    )
    edit = text(admin_client.get(reverse("books:user_edit", args=[attorney.pk]), **HX))
    assert re.search(r'<input type="checkbox" name="is_integration_user"[^>]* checked', edit)


def test_a_second_integration_user_is_refused_next_to_the_switch(admin_client, admin, attorney):
    User.objects.filter(pk=attorney.pk).update(is_integration_user=True)
    response = admin_client.post(
        reverse("books:user_edit", args=[admin.pk]),
        user_form(admin, is_integration_user="on", initials="AX"),
        **HX,
    )
    assert response.status_code == 422
    assert (
        "<p>Sam.Smith@smith.test is already the designated integration user of this firm; only "
        "one user per firm can be: turn it off for them first</p>"
    ) in field_error(text(response), "is_integration_user")
    admin.refresh_from_db()
    assert (admin.is_integration_user, admin.initials) == (False, "AA")
    assert not AuditEvent.objects.filter(action="change", entity_type="user").exists()


def test_adding_a_user(admin_client, firm):
    response = admin_client.post(
        reverse("books:user_new"),
        {
            "email": "paula@smith.test",
            "first_name": "Paula",
            "last_name": "Partner",
            "password": "temporary-pass-1",
            "records_time": "on",
        },
        **HX,
    )
    assert response["HX-Redirect"] == reverse("books:users")
    user = User.objects.get(email="paula@smith.test")
    assert (user.firm, user.initials, user.is_admin, user.records_time) == (firm, "PP", False, True)
    assert not user.is_enrolled
    assert user.must_change_password  # the temporary password is replaced first
    page = text(admin_client.get(reverse("books:users")))
    assert (
        "User paula@smith.test added. At their first sign-in they choose their own password "
        "and enroll a security question." in page
    )
    assert "Not enrolled" in page


def test_adding_a_user_refuses_a_short_password_and_a_taken_email(admin_client, admin):
    response = admin_client.post(
        reverse("books:user_new"), {"email": "x@smith.test", "password": "short"}, **HX
    )
    assert response.status_code == 422
    assert "at least 10 characters" in field_error(text(response), "password")
    response = admin_client.post(
        reverse("books:user_new"), {"email": "admin@SMITH.test", "password": "long enough pw"}
    )
    assert "already exists" in field_error(text(response), "email")
    assert User.objects.count() == 1


# --- Settings -> Features ----------------------------------------------------------------


def test_the_features_tab_turns_the_release_stage_on_and_off(admin_client, firm):
    page = text(admin_client.get(reverse("books:settings_features")))
    assert "Enable release invoice stage in billing" in page
    assert 'aria-current="page">Features</a>' in page
    response = admin_client.post(
        reverse("books:settings_features"), {"release_invoice_stage_enabled": "on"}, follow=True
    )
    assert "Features saved." in text(response)
    assert Firm.objects.get(pk=firm.pk).release_invoice_stage_enabled is True
    assert 'id="id_release_invoice_stage_enabled" checked' in text(response)
    admin_client.post(reverse("books:settings_features"), {})
    assert Firm.objects.get(pk=firm.pk).release_invoice_stage_enabled is False
    changes = AuditEvent.objects.filter(entity_type="features").order_by("pk")
    assert [e.summary for e in changes] == [
        "Release invoice stage enabled",
        "Release invoice stage disabled",
    ]


def test_the_settings_root_opens_the_features_tab(admin_client):
    response = admin_client.get("/books/settings/")
    assert response["Location"] == reverse("books:settings_features")


# --- Areas of Practice -------------------------------------------------------------------


def test_adding_an_area_of_practice(admin_client, firm):
    page = text(admin_client.get(reverse("books:areas")))
    assert 'hx-get="/books/settings/areas/new/"' in page
    form = text(admin_client.get(reverse("books:area_new"), **HX))
    assert ">Name<" in form
    assert ">Description<" in form
    response = admin_client.post(
        reverse("books:area_new"), {"name": "PI", "description": "Personal Injury"}, **HX
    )
    assert response["HX-Redirect"] == reverse("books:areas")
    area = AreaOfPractice.objects.get(firm=firm)
    assert (area.name, area.description) == ("PI", "Personal Injury")
    page = text(admin_client.get(reverse("books:areas")))
    assert "Area of practice PI added." in page
    assert "Personal Injury" in page


def test_a_duplicate_area_name_is_refused_next_to_the_name(admin_client, firm, admin):
    setup.area_of_practice_create(firm=firm, actor=admin, name="PI", description="Personal Injury")
    response = admin_client.post(
        reverse("books:area_new"), {"name": "pi", "description": "Again"}, **HX
    )
    assert response.status_code == 422
    assert "An area of practice named pi already exists" in field_error(text(response), "name")
    assert AreaOfPractice.objects.filter(firm=firm).count() == 1
    assert AuditEvent.objects.filter(entity_type="area_of_practice").count() == 1


def test_editing_an_area_of_practice(admin_client, firm, admin):
    area = setup.area_of_practice_create(firm=firm, actor=admin, name="PI")
    admin_client.post(
        reverse("books:area_edit", args=[area.pk]),
        {"name": "PI", "description": "Personal Injury"},
    )
    area.refresh_from_db()
    assert area.description == "Personal Injury"


def test_an_area_needs_a_name(admin_client, firm):
    response = admin_client.post(reverse("books:area_new"), {"name": "  ", "description": "x"})
    assert "This field is required." in field_error(text(response), "name")
    assert not AreaOfPractice.objects.exists()


# --- Rates/Codes -> Activity Code --------------------------------------------------------


def test_the_activity_code_tab_lists_codes_with_their_accounts(admin_client, firm):
    html = text(admin_client.get(reverse("books:activity_codes")))
    assert 'aria-current="page">Activity Code</a>' in html
    assert "E101" in html
    assert "1300 Advanced Client Costs" in html
    assert "Add UTBMS expense codes" in html
    assert admin_client.get("/books/settings/rates-codes/")["Location"] == reverse(
        "books:activity_codes"
    )


def test_the_add_pop_up_offers_the_firms_postable_accounts(admin_client, firm, other_firm):
    html = text(admin_client.get(reverse("books:activity_code_new"), **HX))
    assert "General Ledger Account" in html
    select = html.split('name="gl_account"')[1].split("</select>")[0]
    offered = {int(v) for v in re.findall(r'value="(\d+)"', select)}
    expected = set(
        GLAccount.objects.filter(firm=firm)
        .exclude(number__in=["1000", "1010", "2100"])
        .values_list("pk", flat=True)
    )
    assert offered == expected
    assert "4100 COPP Charges Income" in select


def test_adding_the_copp_and_property_damage_codes(admin_client, firm):
    copp = GLAccount.objects.get(firm=firm, number="4100")
    damage = GLAccount.objects.get(firm=firm, number="4200")
    response = admin_client.post(
        reverse("books:activity_code_new"),
        {"code": "COPP", "name": "COPP", "description": "COPP charges", "gl_account": copp.pk},
        **HX,
    )
    assert response["HX-Redirect"] == reverse("books:activity_codes")
    admin_client.post(
        reverse("books:activity_code_new"),
        {
            "code": "Property Damage",
            "name": "Property Damage",
            "description": "Property damage fee",
            "gl_account": damage.pk,
            "utbms_code": "",
        },
    )
    codes = {c.code: c for c in ActivityCode.objects.filter(firm=firm, utbms_code="")}
    assert set(codes) == {"COPP", "Property Damage"}
    assert codes["COPP"].gl_account == copp
    assert codes["COPP"].description == "COPP charges"
    assert codes["Property Damage"].gl_account == damage
    html = text(admin_client.get(reverse("books:activity_codes")))
    assert "Activity code COPP added (posts to 4100 COPP Charges Income)." in html


def test_an_activity_code_without_a_gl_account_is_refused(admin_client, firm):
    before = ActivityCode.objects.count()
    response = admin_client.post(
        reverse("books:activity_code_new"), {"code": "COPP", "name": "COPP"}, **HX
    )
    assert response.status_code == 422
    assert "Choose the General Ledger account this code posts to" in field_error(
        text(response), "gl_account"
    )
    assert ActivityCode.objects.count() == before


def test_an_activity_code_of_another_firms_account_is_refused(admin_client, firm, other_firm):
    theirs = GLAccount.objects.get(firm=other_firm, number="4100")
    response = admin_client.post(
        reverse("books:activity_code_new"),
        {"code": "COPP", "name": "COPP", "gl_account": theirs.pk},
    )
    assert "Select a valid choice" in field_error(text(response), "gl_account")
    assert not ActivityCode.objects.filter(code="COPP").exists()


def test_a_duplicate_code_and_a_bad_utbms_code_are_refused(admin_client, firm):
    gl = GLAccount.objects.get(firm=firm, number="4100")
    response = admin_client.post(
        reverse("books:activity_code_new"), {"code": "e101", "name": "Copies", "gl_account": gl.pk}
    )
    assert "Activity code e101 already exists" in field_error(text(response), "code")
    response = admin_client.post(
        reverse("books:activity_code_new"),
        {"code": "X", "name": "X", "gl_account": gl.pk, "utbms_code": "E999"},
    )
    assert "Select a valid choice" in field_error(text(response), "utbms_code")
    assert ActivityCode.objects.filter(firm=firm).count() == 24


def test_adding_the_utbms_codes(admin_client, other_firm, other_client):
    response = other_client.post(reverse("books:activity_codes_utbms"), follow=True)
    assert "Added 24 UTBMS expense codes." in text(response)
    assert ActivityCode.objects.filter(firm=other_firm).count() == 24
    response = other_client.post(reverse("books:activity_codes_utbms"), follow=True)
    assert "Every UTBMS expense code is already in your list." in text(response)
    assert ActivityCode.objects.filter(firm=other_firm).count() == 24


def test_the_timekeepers_tab_shows_who_records_time(admin_client, attorney):
    html = text(admin_client.get(reverse("books:timekeepers")))
    assert "Sam.Smith@smith.test" in html


# --- Chart of accounts, bank accounts ----------------------------------------------------


def test_the_chart_shows_balances_in_normal_sign(admin_client, funded_file):
    html = text(admin_client.get(reverse("books:accounts")))
    row = html[html.index("Client Trust Liability") :]
    assert "$1,000.00" in row[: row.index("</tr>")]
    assert "-$1,000.00" not in html


def test_adding_an_account(admin_client, firm):
    admin_client.post(
        reverse("books:account_new"), {"number": "4300", "name": "Referral Fees", "type": "income"}
    )
    acct = GLAccount.objects.get(firm=firm, number="4300")
    assert (acct.name, acct.type) == ("Referral Fees", "income")
    response = admin_client.post(
        reverse("books:account_new"), {"number": "4300", "name": "Again", "type": "income"}, **HX
    )
    assert "Account number 4300 is taken" in field_error(text(response), "number")
    assert GLAccount.objects.filter(firm=firm, number="4300").count() == 1


def test_bank_accounts_are_listed(admin_client):
    html = text(admin_client.get(reverse("books:bank_accounts")))
    assert "Client Trust (IOLTA)" in html
    assert "Operating" in html


# --- Audit trail -------------------------------------------------------------------------


def test_the_audit_trail_shows_who_what_and_before_after(admin_client, admin, attorney):
    admin_client.post(
        reverse("books:user_edit", args=[attorney.pk]), user_form(attorney, records_time=None)
    )
    html = text(
        admin_client.get(reverse("books:audit"), {"entity_type": "user", "action": "change"})
    )
    assert "User Sam.Smith@smith.test changed" in html
    assert "admin@smith.test" in html
    assert "&quot;records_time&quot;: true" in html
    assert "&quot;records_time&quot;: false" in html
    assert "logged in" not in html


def test_the_audit_trail_filter_refuses_unknown_values(admin_client, admin):
    response = admin_client.get(reverse("books:audit"), {"entity_type": "<b>x</b>"})
    assert response.status_code == 200
    assert "Select a valid choice" in text(response)
    assert "&lt;b&gt;x&lt;/b&gt;" in text(response)
    assert "<b>x</b>" not in text(response)
    assert "No events match." in text(response)


def test_the_audit_trail_only_shows_the_firms_own_events(admin_client, other_admin):
    html = text(admin_client.get(reverse("books:audit")))
    assert "boss@jones.test" not in html


# --- Editing and deactivating an activity code or a GL account (issue 14) ---------------------


def test_an_activity_code_is_edited_and_deactivated_with_the_pencil(admin_client, firm):
    code = ActivityCode.objects.get(firm=firm, code="E101")
    income = GLAccount.objects.get(firm=firm, number="4100")
    html = text(admin_client.get(reverse("books:activity_codes")))
    assert reverse("books:activity_code_edit", args=[code.pk]) in html
    form = text(admin_client.get(reverse("books:activity_code_edit", args=[code.pk]), **HX))
    assert "Code <strong>E101</strong> stays as it is" in form
    response = admin_client.post(
        reverse("books:activity_code_edit", args=[code.pk]),
        {
            "name": "Copying (in house)",
            "description": "",
            "gl_account": income.pk,
            "utbms_code": "E101",
            "is_active": "",
        },
        **HX,
    )
    assert response["HX-Redirect"] == reverse("books:activity_codes")
    code.refresh_from_db()
    assert (code.name, code.gl_account_id, code.is_active) == (
        "Copying (in house)",
        income.pk,
        False,
    )
    html = text(admin_client.get(reverse("books:activity_codes")))
    assert (
        "Activity code E101 saved (posts to 4100 COPP Charges Income). It is inactive now." in html
    )
    assert AuditEvent.objects.filter(entity_type="activity_code", action="change").count() == 1


def test_an_activity_code_cannot_be_moved_to_no_account(admin_client, firm):
    code = ActivityCode.objects.get(firm=firm, code="E101")
    before = (code.name, code.gl_account_id)
    response = admin_client.post(
        reverse("books:activity_code_edit", args=[code.pk]),
        {"name": "Renamed", "gl_account": "", "is_active": "on"},
        **HX,
    )
    assert response.status_code == 422
    assert "Choose the General Ledger account this code posts to" in field_error(
        text(response), "gl_account"
    )
    code.refresh_from_db()
    assert (code.name, code.gl_account_id) == before


def test_a_gl_account_is_renamed_and_an_unused_one_deactivated(admin_client, firm):
    rent = setup.gl_account_create(
        firm=firm, actor=None, number="5300", name="Rent", type="expense"
    )
    html = text(admin_client.get(reverse("books:accounts")))
    assert reverse("books:account_edit", args=[rent.pk]) in html
    response = admin_client.post(
        reverse("books:account_edit", args=[rent.pk]), {"name": "Office rent"}, **HX
    )
    assert response["HX-Redirect"] == reverse("books:accounts")
    rent.refresh_from_db()
    assert (rent.name, rent.is_active) == ("Office rent", False)
    assert "Account 5300 Office rent saved. It is inactive now." in text(
        admin_client.get(reverse("books:accounts"))
    )


def test_the_client_trust_liability_stays_active(admin_client, firm):
    liability = GLAccount.objects.get(firm=firm, is_client_trust=True)
    response = admin_client.post(
        reverse("books:account_edit", args=[liability.pk]),
        {"name": liability.name},  # Active unticked
        **HX,
    )
    assert response.status_code == 422
    assert (
        f"{liability.number} {liability.name} is one of the accounts the books run on and "
        "cannot be deactivated"
    ) in field_error(text(response), "is_active")
    assert GLAccount.objects.get(pk=liability.pk).is_active is True
