"""The operator's live page: one template, one JavaScript module; its data comes from dashboard/apis.py and the
WebSocket. Anonymous visitors are sent to the login page; logged-in users who are not staff get a 403."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie

from market.models import FALLBACK_SOURCES, Timeframe
from trading.engine.services import DEFAULT_KIND
from trading.strategies.registry import kind_registry

from .permissions import user_is_operator, user_may_halt
from .selectors import symbol_tickers


@ensure_csrf_cookie
def dashboard_page(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("dashboard-login"))
    if not user_is_operator(request.user):
        raise PermissionDenied("The live page is for staff users.")
    may_halt = user_may_halt(request.user)
    config = {
        "api": reverse("dashboard-api-status").rsplit("status", 1)[0],
        "ws": "/ws/updates",
        "symbols": symbol_tickers(),
        "timezone": settings.DASHBOARD_TIME_ZONE,
        "may_halt": may_halt,
        "user": f"user:{request.user.get_username()}",
        "fallback_sources": sorted(FALLBACK_SOURCES),
    }
    context = {
        "config": config,
        "symbols": config["symbols"],
        "timeframes": Timeframe.values,
        "kinds": sorted(kind_registry()),
        "default_kind": DEFAULT_KIND,
        "may_halt": may_halt,
    }
    return render(request, "dashboard/page.html", context)


class DashboardLoginView(auth_views.LoginView):
    template_name = "dashboard/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        return reverse("dashboard")


class DashboardLogoutView(auth_views.LogoutView):
    next_page = "dashboard-login"
