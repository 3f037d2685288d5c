"""The managers' report, rendered: a terminal table, CSV, or one standalone HTML page.

The figures come from ``Store.report`` (SQL aggregates, ``app.store.report``);
this package only lays them out.  ``tactful report`` (``app.reporting.cli``)
and App Home (``app.slack.home_blocks``) read the same ``Report``.
"""

from app.reporting.figures import percent, report_rows
from app.reporting.html_page import render_html
from app.reporting.text import render_csv, render_table

__all__ = ["percent", "render_csv", "render_html", "render_table", "report_rows"]
