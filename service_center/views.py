"""Staff sign-in, and where each role lands (the page plumbing is `core/pages.py`)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from core.pages import DESK_ROLES
from core.roles import TECH, user_roles

# --- sign-in -------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = "/login/"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role lands on its own page: desk and manager on the board, technicians on theirs."""
    roles = user_roles(request.user)
    if roles & DESK_ROLES:
        return redirect("desk-board")
    if TECH in roles:
        return redirect("tech-home")
    if request.user.is_staff:
        return redirect("/admin/")
    raise HttpForbidden(_("Your account has no role at a service center yet."))
