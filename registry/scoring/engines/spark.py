"""The Spark engine: the same exposure as the sparse engine, as DataFrame joins and aggregations on a cluster.

When the transfer graph outgrows one machine's memory (a year of Tron USDT is billions of rows), the iteration of
``registry.scoring.propagate`` runs on Spark instead (GraphSense runs its transformations on Spark for the same
reason). Nothing but the seeds goes to the cluster and nothing but the exposures above the floor comes back; the
policy and the store stay in this process, so the scores a bank sees come from the same code whichever engine ran.

- **Reading.** From PostgreSQL over JDBC, ``REGISTRY_SPARK_PARTITIONS`` parallel reads split by transfer id (the
  primary key, so each is an index range scan), only ``(id, from_id, to_id, asset_id, value)``, self-transfers
  dropped in the database; or from the Parquet files of ``registry export transfers`` (``REGISTRY_SPARK_PARQUET``)
  where the cluster cannot reach the database. The ``transfer`` table's ``id <= max id`` at the start bounds the
  read, so rows committed meanwhile wait for the next run (whose counters then say the scores are stale).
- **Pricing and filters.** ``value * unit price`` of the row's asset (prices from ``registry.scoring.valuation``,
  the same doubles the SQL of the sparse engine multiplies by), then dust and zero weights dropped; parallel
  transfers summed per ``(from, to)``: the weight matrix ``W``.
- **Iteration.** The transition ``P`` (each weight times the reciprocal of its receiver's total for incoming, its
  sender's total for outgoing, as ``transition`` does) and per hop: drop the blocked addresses from the increment
  (listed, licensed; not at hop 1, where the listed addresses are the sources), join on the sender, sum per
  ``(category, receiver)``. Poison keeps only the (category, address) pairs not reached before, each at 1. Every
  increment is cached so the plan stays linear in the hop count. The shares are the sum of the increments (clipped to
  1), the hop count the first hop at which a pair appears.
- **Writing back.** The exposures above ``REGISTRY_SCORING_MIN_SHARE`` come back as Arrow (``toArrow``), the
  policy runs on them vectorised and the scores are written in bulk (``COPY`` on PostgreSQL) as for the sparse
  engine.

The session is created once per process (``SparkSession.builder.getOrCreate``): ``REGISTRY_SPARK_MASTER`` is
``local[*]``, a cluster master, or a Spark Connect URL (``sc://…``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from sqlalchemy.engine import Engine, make_url

from registry.db.engine import read_only
from registry.errors import InvalidInput
from registry.scoring import queries
from registry.scoring.engines.base import Exposed, Loaded, SeedIds
from registry.scoring.propagate import Direction, IntArray, Method
from registry.scoring.settings import ScoringSettings
from registry.scoring.valuation import unknown_unit_price

_lock = threading.Lock()


def session(settings: ScoringSettings) -> SparkSession:
    """The process's Spark session (created on first use; later calls get the same one)."""
    with _lock:
        builder: Any = SparkSession.builder.appName("registry-scoring")
        master = settings.spark_master
        if master.startswith("sc://"):
            builder = builder.remote(master)
        else:
            if master:  # empty: what spark-submit or spark-defaults.conf say
                builder = builder.master(master)
            if master.startswith("local"):
                builder = builder.config("spark.ui.enabled", "false")
            if settings.spark_jdbc_jar and Path(settings.spark_jdbc_jar).exists():
                builder = builder.config("spark.jars", settings.spark_jdbc_jar)
        builder = builder.config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        for key, value in settings.spark_conf.items():
            builder = builder.config(key, value)
        spark: SparkSession = builder.getOrCreate()
        return spark


def jdbc_target(db: Engine, settings: ScoringSettings) -> tuple[str, dict[str, str]]:
    """The JDBC URL and connection properties of the registry's PostgreSQL database."""
    url = make_url(db.url.render_as_string(hide_password=False))
    props = {"driver": "org.postgresql.Driver", "fetchsize": "20000"}
    if url.username:
        props["user"] = url.username
    if url.password:
        props["password"] = str(url.password)
    if settings.spark_jdbc_url:
        return settings.spark_jdbc_url, props
    return f"jdbc:postgresql://{url.host or 'localhost'}:{url.port or 5432}/{url.database}", props


INLINE_BLOCKED = 100_000
"""Up to this many blocked addresses are filtered with an ``IN`` set compiled into the plan (no join, no extra job);
more are dropped with a broadcast anti-join."""


def _passing(spark: SparkSession, blocked: IntArray) -> Callable[[DataFrame], DataFrame]:
    """The filter that drops blocked addresses (listed, licensed) from an increment before it moves on."""
    ids = [int(b) for b in blocked.tolist()]
    if len(ids) <= INLINE_BLOCKED:
        return lambda df: df.where(~F.col("node").isin(ids)) if ids else df
    table = F.broadcast(spark.createDataFrame([(b,) for b in ids], "node long"))
    return lambda df: df.join(table, "node", "left_anti")


class SparkEngine:
    name = "spark"

    def load(self, db: Engine, settings: ScoringSettings) -> Loaded:
        spark = session(settings)
        with read_only(db).connect() as conn:
            prices = queries.asset_prices(conn, settings)
            _, top = queries.transfer_stats(conn)
            low = queries.first_transfer_id(conn)
        source = settings.spark_source
        if source == "auto":
            source = "jdbc" if db.dialect.name == "postgresql" else "parquet"
        cols = ["id", "from_id", "to_id", "asset_id", "value"]
        if source == "parquet":
            if not settings.spark_parquet:
                raise InvalidInput(
                    "the spark engine reads PostgreSQL over JDBC or a Parquet export: set REGISTRY_SPARK_PARQUET to "
                    "the directory of `registry export transfers --format parquet` (or use PostgreSQL)"
                )
            raw = spark.read.parquet(f"{settings.spark_parquet.rstrip('/')}/transfers").select(*cols)
            raw = raw.where(
                F.col("from_id").isNotNull()
                & F.col("to_id").isNotNull()
                & F.col("asset_id").isNotNull()
                & (F.col("from_id") != F.col("to_id"))
            )
        else:
            if db.dialect.name != "postgresql":
                raise InvalidInput("REGISTRY_SPARK_SOURCE=jdbc needs PostgreSQL; on SQLite use a Parquet export")
            url, props = jdbc_target(db, settings)
            query = (
                f"(SELECT {', '.join(cols)} FROM transfer WHERE id <= {int(top)} AND from_id IS NOT NULL AND "
                "to_id IS NOT NULL AND asset_id IS NOT NULL AND from_id <> to_id) AS t"
            )
            raw = spark.read.jdbc(
                url,
                query,
                column="id",
                lowerBound=int(low),
                upperBound=int(top) + 1,
                numPartitions=max(1, min(settings.spark_partitions, int(top) - int(low) + 1)),
                properties=props,
            )
        price_rows = [(int(i), float(p)) for i, p in prices.items()]
        price_df = spark.createDataFrame(price_rows or [(-1, 0.0)], "asset_id long, price double")
        unknown = float(unknown_unit_price(settings))
        weighted = (
            raw.join(F.broadcast(price_df), "asset_id", "left")
            .select(
                F.col("from_id").cast("long").alias("src"),
                F.col("to_id").cast("long").alias("dst"),
                (F.col("value") * F.coalesce(F.col("price"), F.lit(unknown))).alias("w"),
            )
            .where((F.col("w") >= F.lit(float(settings.scoring_dust_value))) & (F.col("w") > 0))
        )
        edges = weighted.groupBy("src", "dst").agg(F.sum("w").alias("w"), F.count(F.lit(1)).alias("k")).cache()
        # One job for both figures: each edge's two ends, the transfer count carried on the first.
        ends = edges.select(
            F.explode(
                F.array(
                    F.struct(F.col("src").alias("a"), F.col("k")),
                    F.struct(F.col("dst").alias("a"), F.lit(0).cast("long").alias("k")),
                )
            ).alias("e")
        )
        stats = ends.agg(F.sum("e.k").alias("k"), F.countDistinct("e.a").alias("a")).collect()[0]
        counted, addresses = stats["k"] or 0, stats["a"] or 0
        return Loaded(int(counted), int(addresses), False, None, edges)

    def exposure(self, loaded: Loaded, seeds: SeedIds, direction: Direction, settings: ScoringSettings) -> Exposed:
        method = settings.scoring_method
        return self.exposures(loaded, seeds, direction, settings, (method,))[method]

    def exposures(
        self,
        loaded: Loaded,
        seeds: SeedIds,
        direction: Direction,
        settings: ScoringSettings,
        methods: tuple[Method, ...] = ("haircut", "poison"),
    ) -> dict[Method, Exposed]:
        """One direction's exposure by each of ``methods`` from one iteration (see poison below)."""
        edges: DataFrame = loaded.handle
        spark = edges.sparkSession
        if len(seeds.nodes) == 0 or loaded.transfers == 0:
            return dict.fromkeys(methods, Exposed.empty())
        # Incoming: taint moves with the money, P(v <- u) = W(u, v) / total received by v. Outgoing: against it,
        # from a listed receiver back to the sender, P(u <- v) = W(u, v) / total sent by u.
        # The total per receiver (sender) as a window over the edges: one shuffle, where a grouped total joined back
        # would take two.
        by = "dst" if direction == "incoming" else "src"
        total = F.sum("w").over(Window.partitionBy(by))
        trans = edges.select(
            F.col("src" if direction == "incoming" else "dst").alias("from_node"),
            F.col("dst" if direction == "incoming" else "src").alias("to_node"),
            (F.col("w") * (F.lit(1.0) / total)).alias("p"),
        )
        # Hash-partitioned by the node taint leaves from and cached. Every increment is hash-partitioned by its node
        # too (before its aggregation, which that partitioning already satisfies), so each hop's join finds both
        # sides in place: one shuffle per hop, of the increment only.
        parts = settings.spark_shuffle_partitions
        trans = trans.repartition(parts, "from_node").cache()
        pairs = sorted({(int(c), int(n)) for c, n in zip(seeds.cats.tolist(), seeds.nodes.tolist(), strict=True)})
        step = spark.createDataFrame(pairs, "cat int, node long").withColumn("x", F.lit(1.0)).repartition(parts, "node")
        passing = _passing(spark, seeds.blocked())
        cached: list[DataFrame] = [trans]
        steps: list[DataFrame] = []
        for hop in range(1, settings.scoring_max_hops + 1):
            frontier = step if hop == 1 else passing(step)  # listed and licensed addresses pass nothing on
            step = (
                frontier.join(trans, frontier["node"] == trans["from_node"])
                .select("cat", F.col("to_node").alias("node"), (F.col("x") * F.col("p")).alias("x"))
                .repartition(parts, "node")
                .groupBy("node", "cat")
                .agg(F.sum("x").alias("x"))
                .where(F.col("x") > 0)
                .cache()
            )
            cached.append(step)
            steps.append(step.withColumn("hop", F.lit(hop)))
        together = steps[0]
        for more in steps[1:]:
            together = together.unionByName(more)
        # Poison is reachability: a pair is reached within H hops exactly when some walk of at most H hops (through
        # passing addresses) carries a positive haircut term, and its first hop is the same; so both methods run the
        # same iteration and poison counts every reached pair as 1. (The sparse engine walks only the newly reached
        # frontier for poison; the reached pairs and hops are the same.)
        result = together.groupBy("cat", "node").agg(F.sum("x").alias("x"), F.min("hop").alias("hops"))
        try:
            table = result.toArrow()
        finally:
            for df in cached:
                df.unpersist()
        cat = table.column("cat").to_numpy().astype(np.int64)
        node = table.column("node").to_numpy().astype(np.int64)
        order = np.lexsort((node, cat))
        cat, node = cat[order], node[order]
        total = table.column("x").to_numpy().astype(np.float64)[order]
        hops = table.column("hops").to_numpy().astype(np.int8)[order]
        out: dict[Method, Exposed] = {}
        for method in methods:
            share = np.ones_like(total) if method == "poison" else np.minimum(total, 1.0)
            keep = share > settings.scoring_min_share
            out[method] = Exposed(cat[keep], node[keep], share[keep], hops[keep])
        return out

    def release(self, loaded: Loaded) -> None:
        edges: DataFrame = loaded.handle
        edges.unpersist()
