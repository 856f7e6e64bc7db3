"""pandera's Polars API, imported without pandera's pyspark set-up.

``import pandera`` imports ``pyspark.pandas`` whenever pyspark is installed (the spark extra):
~0.1 s and a pandas-3 warning at every stage start, Spark or not. Nothing here uses
pyspark.pandas (Spark code is pyspark.sql + Arrow), so while pandera is first imported, pyspark
reads as "not installed" (pandera skips that set-up); pyspark itself stays importable after.
"""

from __future__ import annotations

import sys

_hide_pyspark = "pyspark" not in sys.modules
if _hide_pyspark:
    sys.modules["pyspark"] = None  # type: ignore[assignment]
try:
    import pandera.polars as pa
    from pandera.api.polars.types import PolarsData
    from pandera.errors import SchemaErrors
finally:
    if _hide_pyspark:
        del sys.modules["pyspark"]

__all__ = ["PolarsData", "SchemaErrors", "pa"]
