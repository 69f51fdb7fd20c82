"""SMS and KakaoTalk AlimTalk through SOLAPI's REST API (`POST /messages/v4/send`).

The request, as SOLAPI documents it (developers.solapi.com; the official SDKs
github.com/solapi/solapi-python `solapi/lib/authenticator.py` and `simple/send_one_alimtalk.py`):

- `Authorization: HMAC-SHA256 apiKey=<key>, date=<ISO 8601>, salt=<random>, signature=<hex>`,
  the signature being HMAC-SHA256(apiSecret, date + salt); a salt is never reused (SOLAPI
  refuses a signature seen in the last 15 minutes, and a date more than 15 minutes off).
- JSON `{"message": {"to", "from", "text"}}`, digits only for both numbers; SOLAPI picks SMS or
  LMS by the text's length. AlimTalk adds `"kakaoOptions": {"pfId", "templateId"}`.
- Success: 200 with `messageId`, `groupId` and `statusCode` "2000". Failure: 4xx/5xx with
  `errorCode` and `errorMessage` (e.g. 400 ValidationError, 403 SignatureDoesNotMatch,
  402 NotEnoughBalance, 500 InternalError).

Which failures are permanent: a 4xx answer means SOLAPI looked at the request and refused it
(bad number, bad key, no balance), so the row fails at once; 408, 429, 5xx, a timeout or a
broken connection are temporary and go through the outbox's retries (workflows/notify.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

import requests
from django.conf import settings

from workflows.models import Notification
from workflows.notify import BaseBackend, DeliveryError, DeliveryResult

ACCEPTED = "2000"
TEMPORARY_STATUSES = {408, 425, 429}


def authorization(api_key: str, api_secret: str, *, date: str = "", salt: str = "") -> str:
    """The Authorization header for one request (a fresh salt each time)."""
    date = date or dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    salt = salt or secrets.token_hex(16)
    signature = hmac.new(api_secret.encode(), (date + salt).encode(), hashlib.sha256).hexdigest()
    return f"HMAC-SHA256 apiKey={api_key}, date={date}, salt={salt}, signature={signature}"


def phone_digits(number: str) -> str:
    """A phone number as SOLAPI wants it: digits only ("010-2345-6789" -> "01023456789")."""
    return re.sub(r"\D", "", number)


class SolapiBackend(BaseBackend):
    """Reads the SMS_* and ALIMTALK_* settings on every send, so a changed setting applies
    without restarting the worker (and tests can point SMS_API_URL at a local server)."""

    def payload(self, notification: Notification) -> dict:
        to = phone_digits(notification.recipient)
        if not 8 <= len(to) <= 15:
            raise DeliveryError("invalid phone number", permanent=True)
        if not settings.SMS_API_KEY or not settings.SMS_API_SECRET or not settings.SMS_SENDER:
            raise DeliveryError("SMS_API_KEY, SMS_API_SECRET and SMS_SENDER must be set")
        message = {"to": to, "from": phone_digits(settings.SMS_SENDER), "text": notification.body}
        template = settings.ALIMTALK_TEMPLATES.get(notification.kind)
        if settings.ALIMTALK_PF_ID and template:
            message["kakaoOptions"] = {"pfId": settings.ALIMTALK_PF_ID, "templateId": template}
        return {"message": message}

    def send(self, notification: Notification) -> DeliveryResult:
        body = self.payload(notification)
        headers = {
            "Authorization": authorization(settings.SMS_API_KEY, settings.SMS_API_SECRET),
            "Content-Type": "application/json",
        }
        try:
            response = requests.post(
                settings.SMS_API_URL, json=body, headers=headers, timeout=settings.SMS_API_TIMEOUT
            )
        except requests.Timeout as exc:
            raise DeliveryError(f"SOLAPI timed out: {exc}") from exc
        except requests.RequestException as exc:
            raise DeliveryError(f"SOLAPI unreachable: {exc}") from exc
        return self.result(response)

    def result(self, response: requests.Response) -> DeliveryResult:
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        status = response.status_code
        if status >= 400:
            error = f"{answer.get('errorCode', 'UnknownError')}: {answer.get('errorMessage', '')}"
            permanent = status < 500 and status not in TEMPORARY_STATUSES
            raise DeliveryError(f"SOLAPI {status} {error}".strip(), permanent=permanent)
        message_id = str(answer.get("messageId") or "")
        if str(answer.get("statusCode")) != ACCEPTED or not message_id:
            raise DeliveryError(
                f"SOLAPI did not accept the message: {answer.get('statusCode')} "
                f"{answer.get('statusMessage', '')}".strip()
            )
        return DeliveryResult(message_id)
