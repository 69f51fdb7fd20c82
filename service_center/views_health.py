"""Health views. `/livez` is a trivial JSON view (the process answers): the benchmarks use it as
the bare baseline. `/healthz` is what load balancers and operators poll."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def livez(request):
    return JsonResponse({"ok": True})


@require_GET
def healthz(request):
    return JsonResponse({"ok": True})
