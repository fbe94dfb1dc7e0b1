"""One local Spark session for all the Spark tests (skipped, with the reason, without PySpark)."""

import os
import sys

import pytest

pytest.importorskip("pyspark", reason="PySpark is not installed (pip install -e '.[test,spark]')")


@pytest.fixture(scope="session")
def spark():
    from pyspark.sql import SparkSession

    # the Python workers run this interpreter, where plays is installed
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]").appName("plays tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
