"""The mall dimension: the chain's malls in Chile, Peru and Colombia.

The malls are fictional but their cities, time zones, sizes and opening hours are
realistic.  The same dimension is used by the generator (where guests go), the ELT (valid
``mall_id`` values and time zones), features (mall context), and the chat (mall names as
people write them).  It is written to ``curated/malls/malls.parquet`` as the ``malls`` table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pyarrow as pa

COUNTRIES = {
    "CL": {"name_es": "Chile", "name_en": "Chile", "timezone": "America/Santiago", "currency": "CLP"},
    "PE": {"name_es": "Perú", "name_en": "Peru", "timezone": "America/Lima", "currency": "PEN"},
    "CO": {"name_es": "Colombia", "name_en": "Colombia", "timezone": "America/Bogota", "currency": "COP"},
}

#: Zones a mall may have, in the order larger malls add them.
ZONE_CATALOGUE = (
    "entrada",
    "patio_comidas",
    "tiendas_moda",
    "supermercado",
    "cine",
    "zona_infantil",
    "tecnologia",
    "gimnasio",
    "terraza",
    "bulevar",
)


@dataclass(frozen=True)
class Mall:
    """One mall of the chain."""

    mall_id: str
    name: str
    short_name: str
    country: str
    city: str
    timezone: str
    size_class: str
    gla_sqm: int
    opens_hour: int
    closes_hour: int
    n_zones: int
    access_points: int
    popularity: float
    wifi_signal_dbm: float

    @property
    def zones(self) -> tuple[str, ...]:
        """The zones of this mall (a prefix of :data:`ZONE_CATALOGUE`)."""
        return ZONE_CATALOGUE[: self.n_zones]


def _m(
    mid: str,
    name: str,
    short: str,
    country: str,
    city: str,
    size: str,
    gla: int,
    hours: tuple[int, int],
    pop: float,
    signal: float,
) -> Mall:
    n_zones = {"S": 5, "M": 7, "L": 9, "XL": 10}[size]
    return Mall(
        mall_id=mid,
        name=name,
        short_name=short,
        country=country,
        city=city,
        timezone=COUNTRIES[country]["timezone"],
        size_class=size,
        gla_sqm=gla,
        opens_hour=hours[0],
        closes_hour=hours[1],
        n_zones=n_zones,
        access_points=max(12, gla // 2500),
        popularity=pop,
        wifi_signal_dbm=signal,
    )


# Interleaved by country so that ``--malls K`` keeps all three countries for K >= 3.
MALLS: tuple[Mall, ...] = (
    _m("CL01", "Mall Cordillera Ñuñoa", "Ñuñoa", "CL", "Santiago", "XL", 140_000, (10, 22), 1.6, -58.0),
    _m("PE01", "Plaza Miraflores", "Miraflores", "PE", "Lima", "XL", 120_000, (10, 22), 1.5, -60.0),
    _m(
        "CO01",
        "Centro Comercial Andino Norte",
        "Andino Norte",
        "CO",
        "Bogotá",
        "XL",
        110_000,
        (10, 21),
        1.5,
        -59.0,
    ),
    _m(
        "CL02",
        "Mall Costanera Providencia",
        "Providencia",
        "CL",
        "Santiago",
        "L",
        90_000,
        (10, 21),
        1.2,
        -61.0,
    ),
    _m("PE02", "Mall del Pacífico San Miguel", "San Miguel", "PE", "Lima", "L", 85_000, (10, 22), 1.2, -63.0),
    _m(
        "CO02",
        "Centro Comercial El Poblado",
        "El Poblado",
        "CO",
        "Medellín",
        "L",
        80_000,
        (10, 21),
        1.2,
        -62.0,
    ),
    _m(
        "CL03", "Mall Bío Bío Concepción", "Concepción", "CL", "Concepción", "L", 70_000, (10, 21), 1.0, -64.0
    ),
    _m("PE03", "Plaza Arequipa Cayma", "Arequipa", "PE", "Arequipa", "M", 55_000, (10, 21), 0.9, -66.0),
    _m("CO03", "Centro Comercial Unicentro Cali", "Cali", "CO", "Cali", "L", 75_000, (10, 21), 1.0, -63.0),
    _m("CL04", "Mall Marina Viña del Mar", "Viña", "CL", "Viña del Mar", "M", 60_000, (10, 21), 1.0, -62.0),
    _m("PE04", "Mall Aventura Trujillo", "Trujillo", "PE", "Trujillo", "M", 50_000, (10, 22), 0.8, -67.0),
    _m(
        "CO04",
        "Centro Comercial Buenavista Barranquilla",
        "Buenavista",
        "CO",
        "Barranquilla",
        "M",
        60_000,
        (10, 21),
        0.9,
        -65.0,
    ),
    _m(
        "CL05",
        "Mall Plaza Antofagasta",
        "Antofagasta",
        "CL",
        "Antofagasta",
        "M",
        45_000,
        (10, 21),
        0.8,
        -68.0,
    ),
    _m("PE05", "Centro Comercial Jockey Surco", "Surco", "PE", "Lima", "XL", 130_000, (11, 22), 1.4, -59.0),
    _m(
        "CO05",
        "Centro Comercial Santafé Bogotá",
        "Santafé",
        "CO",
        "Bogotá",
        "XL",
        125_000,
        (10, 21),
        1.4,
        -60.0,
    ),
    _m(
        "CL06",
        "Mall Florida Center La Florida",
        "La Florida",
        "CL",
        "Santiago",
        "L",
        95_000,
        (10, 21),
        1.1,
        -61.0,
    ),
    _m(
        "PE06", "Plaza Norte Independencia", "Independencia", "PE", "Lima", "L", 100_000, (10, 22), 1.3, -64.0
    ),
    _m(
        "CO06",
        "Centro Comercial Cacique Bucaramanga",
        "Cacique",
        "CO",
        "Bucaramanga",
        "M",
        50_000,
        (10, 21),
        0.8,
        -66.0,
    ),
    _m("CL07", "Mall Temuco Araucanía", "Temuco", "CL", "Temuco", "S", 30_000, (10, 21), 0.6, -70.0),
    _m("PE07", "Mall Chiclayo Real", "Chiclayo", "PE", "Chiclayo", "S", 28_000, (10, 21), 0.6, -71.0),
)

MALLS_BY_ID = {m.mall_id: m for m in MALLS}


def select_malls(k: int | None = None) -> tuple[Mall, ...]:
    """The first ``k`` malls (all when ``k`` is None), keeping the country interleave.

    Raises
    ------
    ValueError
        If ``k`` is not between 1 and the number of malls.
    """
    if k is None:
        return MALLS
    if not 1 <= k <= len(MALLS):
        raise ValueError(f"--malls must be between 1 and {len(MALLS)}, got {k}")
    return MALLS[:k]


def malls_table(malls: tuple[Mall, ...] = MALLS) -> pa.Table:
    """The mall dimension as an Arrow table (the ``malls`` table's content)."""
    rows = []
    for m in malls:
        row = asdict(m)
        row["zones"] = ",".join(m.zones)
        row["country_name"] = COUNTRIES[m.country]["name_es"]
        rows.append(row)
    return pa.Table.from_pylist(rows)
