from pathlib import Path

from django.contrib import admin
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils.html import format_html

from tradingrobot.admin_base import ReadOnlyAdmin

from .models import BacktestRun

SHOWN = ("total_pnl", "roi", "sharpe_ratio", "max_drawdown", "win_rate", "profit_factor", "total_trades")


@admin.register(BacktestRun)
class BacktestRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "kind", "symbols", "progress", *SHOWN, "report", "created_at"]
    list_filter = ["status"]
    readonly_fields = ["status", "reason", "progress", "params", "metrics", "ranking", "report_paths", "wall_seconds"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(parent__isnull=True)

    def get_urls(self):
        report = self.admin_site.admin_view(self.report_view)
        return [path("<int:run_id>/report/", report, name="backtest_backtestrun_report"), *super().get_urls()]

    def report_view(self, request, run_id: int):
        run = BacktestRun.objects.filter(pk=run_id, status=BacktestRun.Status.DONE).first()
        if run is None or not run.report_paths:
            raise Http404("This backtest has no report.")
        return FileResponse(Path(run.report_paths["report.html"]).open("rb"), content_type="text/html; charset=utf-8")

    @admin.display(description="kind")
    def kind(self, run: BacktestRun) -> str:
        return run.params.get("kind", "")

    @admin.display(description="symbols")
    def symbols(self, run: BacktestRun) -> str:
        return ",".join(run.params.get("symbols", []))

    @admin.display(description="report")
    def report(self, run: BacktestRun) -> str:
        if run.status != BacktestRun.Status.DONE or not run.report_paths:
            return run.reason[:80] if run.status == BacktestRun.Status.FAILED else "—"
        return format_html('<a href="{}">report</a>', reverse("admin:backtest_backtestrun_report", args=[run.pk]))


def _metric(name: str):
    @admin.display(description=name)
    def show(self, run: BacktestRun):
        return None if not run.metrics else run.metrics.get(name)

    return show


for _name in SHOWN:
    setattr(BacktestRunAdmin, _name, _metric(_name))
