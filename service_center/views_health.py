"""A trivial JSON view: load balancers poll it, and the benchmarks use it as the bare baseline."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request):
    return JsonResponse({"ok": True})
