"""The report as a department prints it: services per year, stacked by venue or service type."""

import io

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure  # not pyplot: no global state shared across threads
from matplotlib.ticker import FuncFormatter

from services.metrics.domain.history import UNKNOWN
from services.metrics.domain.reports import GroupBy, Report

LABELS = {
    "home": "Rumah warga (door to door)",
    "school": "Sekolah",
    "pesantren": "Pondok pesantren",
    "lapas": "Lapas",
    "panti_asuhan": "Panti asuhan",
    "village_office": "Kantor desa / kecamatan",
    "car_free_day": "Car Free Day",
    "community_event": "Acara komunitas",
    "ktp_el_recording": "Perekaman KTP-el",
    "ktp_el_print": "Cetak KTP-el",
    "kk": "Kartu Keluarga",
    "akta_kelahiran": "Akta kelahiran",
    "akta_kematian": "Akta kematian",
    "kia": "Kartu Identitas Anak",
    "ikd_activation": "Aktivasi IKD",
    "pindah_datang": "Pindah datang",
    UNKNOWN: "Tidak diketahui (unknown: total saja)",
}
UNKNOWN_COLOUR = "#b0b0b0"
SPLIT_TITLE = {GroupBy.VENUE_TYPE: "menurut lokasi", GroupBy.SERVICE_TYPE: "menurut jenis layanan"}


def _thousands(value: float, _: object = None) -> str:
    return f"{int(value):,}".replace(",", ".")  # Indonesian grouping: 16.975


def _say_nothing_yet(ax: Axes) -> None:
    """A fresh system has no services yet: say so, and how to load the years before OTS."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.55, "Belum ada layanan tercatat (no services recorded yet)",
            ha="center", va="center", fontsize=14, transform=ax.transAxes)  # fmt: skip
    ax.text(0.5, 0.42, "ots metrics import-history examples/metrics_history.csv  ·  ots demo",
            ha="center", va="center", fontsize=10, color="grey", family="monospace",
            transform=ax.transAxes)  # fmt: skip


def _unknown_note(report: Report) -> str:
    """Which years are published totals only: nothing says how they split."""
    years = sorted({row.year for row in report.rows if row.key == UNKNOWN})
    if not years:
        return ""
    return (f"; {', '.join(map(str, years))}: hanya total yang diterbitkan, rinciannya tidak "
            "diketahui (published totals only, no breakdown)")  # fmt: skip


def render(report: Report) -> bytes:
    years = sorted(report.totals())
    # the largest at the bottom, below them all what the published history does not split
    keys = sorted({row.key for row in report.rows}, key=lambda k: (k != UNKNOWN, -sum(
        r.services for r in report.rows if r.key == k)))  # fmt: skip
    counts = {(row.year, row.key): row.services for row in report.rows}
    fig = Figure(figsize=(10, 6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    colours = matplotlib.colormaps["tab10"]
    bottoms = [0] * len(years)
    labels = [str(y) for y in years]
    known = [key for key in keys if key != UNKNOWN]
    for key in keys:
        heights = [counts.get((year, key), 0) for year in years]
        colour = UNKNOWN_COLOUR if key == UNKNOWN else colours(known.index(key) % 10)
        ax.bar(labels, heights, 0.6, bottom=bottoms, label=LABELS.get(key, key),
               color=colour, edgecolor="white", linewidth=0.6)  # fmt: skip
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    for x, total in zip(labels, bottoms, strict=True):
        ax.annotate(_thousands(total), (x, total), ha="center", va="bottom",
                    xytext=(0, 4), textcoords="offset points", fontsize=11)  # fmt: skip
    ax.set_title(f"Layanan jemput bola per tahun, {SPLIT_TITLE.get(report.group_by, '')}\n"
                 "Dispendukcapil Kabupaten Jember", fontsize=13)  # fmt: skip
    ax.set_xlabel("Tahun")
    ax.set_ylabel("Jumlah layanan")
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_ylim(0, max(bottoms, default=0) * 1.12 or 1)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    if not keys:
        _say_nothing_yet(ax)
    if keys:  # legend top to bottom as the bars are stacked
        handles, names = ax.get_legend_handles_labels()
        ax.legend(handles[::-1], names[::-1], loc="upper left", bbox_to_anchor=(1.01, 1),
                  frameon=False, fontsize=9)  # fmt: skip
    fig.text(0.01, 0.01, "Sumber: OTS (peristiwa layanan) dan data historis Dispendukcapil"
             + _unknown_note(report), fontsize=8, color="grey")  # fmt: skip
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
