"""The DNS ownership decision, from answers as dnspython's adapter reports them."""

from __future__ import annotations

import pytest

from staxad.model.ownership import FAILED, NO_ANSWER, NXDOMAIN, OK, TIMEOUT, Expected, Lookup, judge

NONE = Lookup(NO_ANSWER)
# a single-provider host (domains.a_record_proves_ownership = true) ...
WANT = Expected("app.example.com", "t0k3n", ("198.18.0.10",), "acme.staxa.test", a_proves=True)
# ... and the default, a host shared by providers
SHARED = Expected("app.example.com", "t0k3n", ("198.18.0.10",), "acme.staxa.test")
HERE = Lookup(OK, ("198.18.0.10",))


def answers(
    txt: Lookup = NONE,
    cname: Lookup = NONE,
    a: Lookup = NONE,
    aaaa: Lookup = NONE,
) -> dict[tuple[str, str], Lookup]:
    return {
        ("_staxa-challenge.app.example.com", "TXT"): txt,
        ("app.example.com", "CNAME"): cname,
        ("app.example.com", "A"): a,
        ("app.example.com", "AAAA"): aaaa,
    }


def test_each_record_proves_ownership_on_its_own() -> None:
    assert judge(WANT, answers(txt=Lookup(OK, ("other", "staxa-verify=t0k3n")))).method == "txt"
    assert judge(WANT, answers(cname=Lookup(OK, ("ACME.staxa.test",)))).method == "cname"
    assert judge(WANT, answers(a=Lookup(OK, ("198.18.0.10",)))).method == "a"


def test_the_txt_proves_it_even_while_the_name_points_elsewhere() -> None:
    verdict = judge(WANT, answers(txt=Lookup(OK, ("staxa-verify=t0k3n",)), a=Lookup(OK, ("198.51.100.7",))))
    assert verdict.verified and verdict.method == "txt"


def test_an_address_elsewhere_says_where_it_points_and_what_to_change() -> None:
    verdict = judge(WANT, answers(a=Lookup(OK, ("198.18.0.10", "198.51.100.7"))))
    assert not verdict.verified and not verdict.inconclusive
    assert "points at 198.51.100.7" in verdict.message and "198.18.0.10" in verdict.message
    assert verdict.found["A app.example.com"] == "198.18.0.10, 198.51.100.7"
    assert verdict.expected["TXT _staxa-challenge.app.example.com"] == "staxa-verify=t0k3n"


def test_wrong_token_wrong_cname_and_missing_names_fail_with_the_reason() -> None:
    assert not judge(WANT, answers(txt=Lookup(OK, ("staxa-verify=other",)))).verified
    wrong_cname = judge(WANT, answers(cname=Lookup(OK, ("evil.example.net",))))
    assert not wrong_cname.verified and "CNAME to evil.example.net" in wrong_cname.message
    missing = judge(WANT, answers(txt=Lookup(NXDOMAIN), cname=Lookup(NXDOMAIN), a=Lookup(NXDOMAIN)))
    assert not missing.verified and "does not exist in DNS" in missing.message
    nothing = judge(WANT, answers())
    assert not nothing.verified and "No record proves ownership" in nothing.message


def test_no_answer_from_dns_is_inconclusive() -> None:
    verdict = judge(WANT, answers(Lookup(TIMEOUT), Lookup(TIMEOUT), Lookup(FAILED), Lookup(TIMEOUT)))
    assert not verdict.verified and verdict.inconclusive and "try again" in verdict.message
    partial = judge(WANT, answers(Lookup(TIMEOUT), Lookup(NO_ANSWER), Lookup(OK, ("198.51.100.7",))))
    assert not partial.inconclusive


@pytest.mark.parametrize(
    ("want", "cname", "a", "verified", "says"),
    [
        (SHARED, NONE, HERE, False, "does not prove which tenant"),
        (WANT, NONE, HERE, True, "points at this server"),
        # an A query follows CNAMEs: a name CNAMEd to another tenant's host must not pass
        (WANT, Lookup(OK, ("other.staxa.test",)), HERE, False, "CNAME to other.staxa.test"),
        (SHARED, Lookup(OK, ("other.staxa.test",)), HERE, False, "CNAME to other.staxa.test"),
        # a CNAME lookup that did not answer may hide one: the address alone is not enough
        (WANT, Lookup(TIMEOUT), HERE, False, "No record proves ownership"),
        (SHARED, Lookup(OK, ("acme.staxa.test",)), HERE, True, "is a CNAME to acme.staxa.test"),
    ],
)
def test_an_address_proves_ownership_only_where_the_host_allows_it(
    want: Expected, cname: Lookup, a: Lookup, verified: bool, says: str
) -> None:
    verdict = judge(want, answers(cname=cname, a=a))
    assert verdict.verified is verified and says in verdict.message
    assert (f"A/AAAA {want.domain}" in verdict.expected) is want.a_proves


def test_on_a_shared_host_the_messages_ask_for_txt_or_cname_only() -> None:
    verdict = judge(SHARED, answers())
    assert "TXT _staxa-challenge.app.example.com" in verdict.message and "an A record" not in verdict.message
