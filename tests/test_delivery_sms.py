"""SMS rows go out through the SOLAPI backend to a local HTTP server started by the test that
speaks SOLAPI's documented `POST /messages/v4/send`: it checks the HMAC-SHA256 Authorization
header (signature over date + salt, a salt never reused, the date within 15 minutes) and the
JSON body, and answers success with a messageId or the documented error shapes."""

import datetime as dt
import hashlib
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.delivery_support import *  # noqa: F403 - the clock and queued fixtures
from workflows import notify, solapi
from workflows.choices import NotificationStatus

API_KEY = "NCSTESTKEY0000001"
API_SECRET = "TESTSECRETSECRETSECRETSECRET0001"
SENDER = "02-555-0100"
AUTH = re.compile(
    r"HMAC-SHA256 apiKey=(?P<key>[^,]+), date=(?P<date>[^,]+), salt=(?P<salt>[^,]+), "
    r"signature=(?P<signature>[0-9a-f]{64})"
)


class Solapi:
    """What the fake SOLAPI saw, and how it answers the next requests ("ok", "invalid",
    "internal", "slow", "no_balance")."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[str] = []
        self.salts: set[str] = set()
        self.release = threading.Event()
        self.sent = 0

    def authorized(self, header: str) -> str:
        """The documented auth errors, or "" when the header is good."""
        match = AUTH.fullmatch(header or "")
        if not match or match["key"] != API_KEY:
            return "InvalidAPIKey"
        expected = hmac.new(
            API_SECRET.encode(), (match["date"] + match["salt"]).encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, match["signature"]):
            return "SignatureDoesNotMatch"
        when = dt.datetime.fromisoformat(match["date"])
        if abs(dt.datetime.now(dt.UTC) - when) > dt.timedelta(minutes=15):
            return "RequestTimeTooSkewed"
        if match["salt"] in self.salts:
            return "DuplicatedSignature"
        self.salts.add(match["salt"])
        return ""


def make_handler(state: Solapi):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

        def answer(self, status: int, body: dict) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.loads(raw)
            state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            if self.path != "/messages/v4/send":
                return self.answer(404, {"errorCode": "NotFound", "errorMessage": self.path})
            refused = state.authorized(self.headers.get("Authorization"))
            if refused:
                return self.answer(403, {"errorCode": refused, "errorMessage": "인증 실패"})
            message = body.get("message") or {}
            if not all(re.fullmatch(r"\d{8,15}", message.get(k, "")) for k in ("to", "from")):
                return self.answer(
                    400, {"errorCode": "ValidationError", "errorMessage": "수신번호 형식 오류"}
                )
            mode = state.answers.pop(0) if state.answers else "ok"
            if mode == "invalid":
                return self.answer(
                    400,
                    {"errorCode": "ValidationError", "errorMessage": "text 필드가 너무 깁니다."},
                )
            if mode == "no_balance":
                return self.answer(
                    402, {"errorCode": "NotEnoughBalance", "errorMessage": "잔액이 부족합니다."}
                )
            if mode == "nul":
                return self.answer(
                    400, {"errorCode": "ValidationError", "errorMessage": "bad\x00byte"}
                )
            if mode == "internal":
                return self.answer(
                    500, {"errorCode": "InternalError", "errorMessage": "서버 내부 오류"}
                )
            if mode == "slow":
                state.release.wait(5)  # longer than the client's timeout
            state.sent += 1
            return self.answer(
                200,
                {
                    "groupId": f"G4V20260101000000GROUP{state.sent:05d}",
                    "messageId": f"M4V20260101000000MSGID{state.sent:05d}",
                    "accountId": "12925149",
                    "statusMessage": "정상 접수(이통사로 접수 예정) ",
                    "statusCode": "2000",
                    "to": message["to"],
                    "from": message["from"],
                    "type": "SMS" if len(message["text"].encode("euc-kr")) <= 90 else "LMS",
                    "country": "82",
                },
            )

    return Handler


@pytest.fixture
def sms_api(settings):
    """The fake SOLAPI on a free local port, and the settings that send to it."""
    state = Solapi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    settings.NOTIFICATION_BACKEND = "workflows.solapi.SolapiBackend"
    settings.SMS_API_URL = f"http://127.0.0.1:{server.server_port}/messages/v4/send"
    settings.SMS_API_KEY, settings.SMS_API_SECRET, settings.SMS_SENDER = API_KEY, API_SECRET, SENDER
    settings.SMS_API_TIMEOUT = 0.5
    settings.ALIMTALK_PF_ID, settings.ALIMTALK_TEMPLATES = "", {}
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_an_sms_row_is_sent_signed_with_digits_only_and_records_the_message_id(
    sms_api, queued, django_assert_num_queries
):
    row = queued(recipient="010-2345-6789", body="강남 서비스센터: 수리가 접수되었습니다.")

    with django_assert_num_queries(3):  # the claim, the read, the outcome
        assert notify.deliver_one(row.pk) is True

    [request] = sms_api.requests
    assert request["body"] == {
        "message": {
            "to": "01023456789",
            "from": "025550100",
            "text": "강남 서비스센터: 수리가 접수되었습니다.",
        }
    }
    assert request["headers"]["Content-Type"] == "application/json"
    assert AUTH.fullmatch(request["headers"]["Authorization"])
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 1)
    assert row.provider_message_id == "M4V20260101000000MSGID00001"


def test_every_request_gets_a_fresh_salt_so_solapi_never_sees_a_signature_twice(sms_api, queued):
    rows = [queued(), queued(), queued()]

    assert notify.deliver([row.pk for row in rows]) == 3
    assert len(sms_api.salts) == 3


def test_a_wrong_secret_is_refused_by_the_signature_check_and_fails_at_once(
    sms_api, queued, settings
):
    settings.SMS_API_SECRET = "NOT-THE-SECRET"
    row = queued()

    assert notify.deliver_pending() == 0

    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.FAILED, 1)
    assert row.last_error == "SOLAPI 403 SignatureDoesNotMatch: 인증 실패"
    assert sms_api.sent == 0


def test_a_validation_error_fails_the_row_at_once_with_the_providers_words(sms_api, queued):
    sms_api.answers = ["invalid"]
    row = queued()

    assert notify.deliver_one(row.pk) is False

    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.FAILED, 1)
    assert row.last_error == "SOLAPI 400 ValidationError: text 필드가 너무 깁니다."
    assert row.next_attempt_at is None


def test_a_nul_byte_in_the_providers_answer_is_dropped_from_the_stored_error(sms_api, queued):
    sms_api.answers = ["nul"]
    row = queued()

    assert notify.deliver_one(row.pk) is False

    row.refresh_from_db()
    assert row.last_error == "SOLAPI 400 ValidationError: badbyte"


def test_no_balance_is_a_4xx_too_and_fails_at_once(sms_api, queued):
    sms_api.answers = ["no_balance"]
    row = queued()

    assert notify.deliver_one(row.pk) is False

    row.refresh_from_db()
    assert row.status == NotificationStatus.FAILED
    assert row.last_error == "SOLAPI 402 NotEnoughBalance: 잔액이 부족합니다."


def test_a_server_error_is_retried_after_the_back_off_and_then_sent_once(sms_api, queued, clock):
    sms_api.answers = ["internal", "internal"]
    row = queued()

    assert notify.deliver_pending() == 0
    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.PENDING, 1)
    assert row.last_error == "SOLAPI 500 InternalError: 서버 내부 오류"
    assert (row.next_attempt_at - clock.now).total_seconds() == 60

    assert notify.deliver_pending() == 0  # not due yet
    assert len(sms_api.requests) == 1
    clock.advance(60)
    assert notify.deliver_pending() == 0
    row.refresh_from_db()
    assert (row.next_attempt_at - clock.now).total_seconds() == 120
    clock.advance(120)
    assert notify.deliver_pending() == 1
    assert notify.deliver_pending() == 0

    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 3)
    assert row.provider_message_id == "M4V20260101000000MSGID00001"
    assert sms_api.sent == 1


def test_a_timeout_is_retried(sms_api, queued, clock):
    sms_api.answers = ["slow"]
    row = queued()

    assert notify.deliver_one(row.pk) is False

    row.refresh_from_db()
    assert (row.status, row.attempts) == (NotificationStatus.PENDING, 1)
    assert row.last_error.startswith("SOLAPI timed out")
    assert row.next_attempt_at > clock.now


def test_an_unreachable_provider_is_retried(sms_api, queued, settings):
    settings.SMS_API_URL = "http://127.0.0.1:9/messages/v4/send"  # discard port: nothing listens
    row = queued()

    assert notify.deliver_one(row.pk) is False

    row.refresh_from_db()
    assert row.status == NotificationStatus.PENDING
    assert row.last_error.startswith("SOLAPI unreachable")


def test_two_deliveries_of_one_row_reach_solapi_once(sms_api, queued):
    row = queued()

    assert (notify.deliver([row.pk]), notify.deliver([row.pk]), notify.deliver_one(row.pk)) == (
        1,
        0,
        False,
    )
    assert len(sms_api.requests) == 1


@pytest.mark.parametrize("recipient", ["", "010", "고객 전화 없음", "+82 10 1234 5678 9999 0000"])
def test_a_number_that_cannot_be_a_phone_fails_at_once_without_calling_solapi(
    sms_api, queued, recipient
):
    row = queued(recipient="010-0000-0000")
    type(row).objects.filter(pk=row.pk).update(recipient=recipient)

    assert notify.deliver_one(row.pk) is False

    row.refresh_from_db()
    assert (row.status, row.last_error) == (NotificationStatus.FAILED, "invalid phone number")
    assert sms_api.requests == []


def test_a_kind_with_an_approved_template_goes_as_alimtalk(sms_api, queued, settings):
    settings.ALIMTALK_PF_ID = "KA01PF200323182344986oTFz9CIabcx"
    settings.ALIMTALK_TEMPLATES = {"received": "KA01TP200323182345741y9yF20aabcx"}
    row = queued(body="수리가 접수되었습니다.")

    assert notify.deliver_one(row.pk) is True

    assert sms_api.requests[0]["body"]["message"]["kakaoOptions"] == {
        "pfId": "KA01PF200323182344986oTFz9CIabcx",
        "templateId": "KA01TP200323182345741y9yF20aabcx",
    }


def test_missing_credentials_are_a_temporary_failure_that_names_the_settings(
    sms_api, queued, settings
):
    settings.SMS_API_KEY = ""
    row = queued()

    assert notify.deliver_one(row.pk) is False

    row.refresh_from_db()
    assert row.status == NotificationStatus.PENDING
    assert "SMS_API_KEY" in row.last_error
    assert sms_api.requests == []


def test_the_authorization_header_is_solapis_documented_shape():
    header = solapi.authorization(
        "KEY", "SECRET", date="2026-01-01T00:00:00.000+00:00", salt="abcdef0123456789"
    )

    expected = hmac.new(
        b"SECRET", b"2026-01-01T00:00:00.000+00:00abcdef0123456789", hashlib.sha256
    ).hexdigest()
    assert header == (
        "HMAC-SHA256 apiKey=KEY, date=2026-01-01T00:00:00.000+00:00, salt=abcdef0123456789, "
        f"signature={expected}"
    )
