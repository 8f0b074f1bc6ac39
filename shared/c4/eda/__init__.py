"""The EDA report of module 2: data quality, visit patterns, churn, features, holidays and paydays.

``build_report(lake, out=None)`` writes one self-contained HTML page (``c4 eda``);
``analyse(lake)`` returns the numbers behind it (used by ``notebooks/C4_EDA.ipynb``).
"""

from c4.eda.analysis import Analysis, analyse, findings
from c4.eda.report import build_report, render

__all__ = ["Analysis", "analyse", "build_report", "findings", "render"]
