"""Intake photo files: never under a public address. Staff of the repair's center see them
(session or token); anyone else needs a signed link that has not expired (the customer's status
page makes them). Everything else, whatever was wrong, is the same 404."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from core.api import StaffTokenAuthentication
from workflows import selectors
from workflows.models import IntakePhoto
from workflows.photo_links import VARIANTS, signature_valid


class IntakePhotoFileView(APIView):
    authentication_classes = [StaffTokenAuthentication, SessionAuthentication]
    permission_classes = [AllowAny]
    schema = None  # a page-side file view, not part of the API's schema

    def get(self, request: HttpRequest, photo_id: int, variant: str):
        photo = _photo(request, photo_id, variant)
        name = photo.image.name if variant == "full" else photo.thumbnail.name
        try:
            handle = default_storage.open(name, "rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=300"
        response["Content-Disposition"] = "inline"
        response["X-Content-Type-Options"] = "nosniff"
        return response


def _photo(request, photo_id: int, variant: str) -> IntakePhoto:
    if variant not in VARIANTS:
        raise Http404
    token = request.query_params.get("s", "")
    if token:
        photo = IntakePhoto.objects.filter(pk=photo_id).first()
        if photo is None or not signature_valid(photo_id, variant, token):
            raise Http404
        return photo
    photo = selectors.photo_for_staff(user=request.user, photo_id=photo_id)
    if photo is None:
        raise Http404
    return photo
