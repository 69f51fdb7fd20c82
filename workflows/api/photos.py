"""`/api/v1/repairs/{ticket}/photos/`: the intake photos of a repair (multipart `image`)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from core.api import BaseAPIView, responses
from core.errors import ValidationFailed
from core.images import MAX_BYTES, too_large
from workflows import selectors, services
from workflows.api.repairs import RepairViewMixin
from workflows.photo_links import photo_url

# What a multipart body may carry besides the photo (the boundary, the part headers).
_ENVELOPE = 64 * 1024


class PhotoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    created_at = serializers.DateTimeField()

    def get_url(self, photo) -> str:
        return photo_url(photo.pk, "full")

    def get_thumbnail_url(self, photo) -> str:
        return photo_url(photo.pk, "thumb")


class PhotoUploadSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="A JPEG, PNG or WebP photo, at most 10 MB.")


class RepairPhotosView(RepairViewMixin, BaseAPIView):
    parser_classes = [MultiPartParser]
    pagination_class = None  # at most PHOTOS_PER_REPAIR: one plain list, as the schema says

    def initial(self, request, *args, **kwargs):
        # Not BaseAPIView's: that reads the whole body against DATA_UPLOAD_MAX_MEMORY_SIZE.
        # A body that cannot hold a photo of at most MAX_BYTES is refused before it is read.
        super(BaseAPIView, self).initial(request, *args, **kwargs)
        length = request.META.get("CONTENT_LENGTH") or "0"
        too_long = not length.isdigit() or int(length) > MAX_BYTES + _ENVELOPE
        if request.method == "POST" and too_long:
            raise too_large()

    @extend_schema(responses=responses({200: PhotoSerializer(many=True)}), tags=["repairs"])
    def get(self, request, ticket_number: str):
        repair = selectors.repair_get_for_action(user=request.user, ticket_number=ticket_number)
        photos = selectors.repair_photos(repair=repair)
        return Response(PhotoSerializer(photos, many=True).data)

    @extend_schema(
        request={"multipart/form-data": PhotoUploadSerializer},
        responses=responses({201: PhotoSerializer}),
        tags=["repairs"],
    )
    def post(self, request, ticket_number: str):
        repair = self.repair_for(ticket_number, "add_photo")
        upload = request.FILES.get("image")
        if upload is None:
            raise ValidationFailed({"image": ["Attach the photo as the multipart field image."]})
        photo = services.repair_add_photo(repair=repair.pk, actor=request.user, upload=upload)
        return Response(PhotoSerializer(photo).data, status=201)
