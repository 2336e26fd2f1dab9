"""The status page's words and looks: labels in Bahasa Indonesia and English, time
zones, the stylesheet and the response headers (the page itself: page.py)."""

from __future__ import annotations

from typing import Any

REFRESH_SECONDS = 30
MAX_PARAM = 100  # longer query values are cut before they are echoed back
ORDER = ("down", "unreachable", "degraded", "unknown", "up")  # worst first
PROBLEMS = ORDER[:-1]
DEFAULT_ZONE = "Asia/Makassar"

#: label -> (Bahasa Indonesia, English); states, causes and site kinds by their prefix
WORDS: dict[str, tuple[str, str]] = {
    "title": ("Status jaringan", "Network status"),
    "state.down": ("Mati", "Down"),
    "state.unreachable": ("Tak terjangkau", "Unreachable"),
    "state.degraded": ("Terganggu", "Degraded"),
    "state.unknown": ("Belum diketahui", "Unknown"),
    "state.up": ("Normal", "Up"),
    "cause.device": ("perangkat", "device"),
    "cause.uplink": ("uplink", "uplink"),
    "cause.power": ("listrik", "power"),
    "cause.link": ("tautan", "link"),
    "cause.unknown": ("tidak diketahui", "unknown"),
    "link.end": ("ujung {end}", "near end {end}"),
    "link.down": ("antarmuka mati", "interface down"),
    "link.rx": ("daya terima {v:.1f} dBm", "rx power {v:.1f} dBm"),
    "kind.village_office": ("kantor desa", "village office"),
    "kind.school": ("sekolah", "school"),
    "kind.public_area": ("area publik", "public area"),
    "kind.gov_office": ("kantor pemerintah", "government office"),
    "all": ("Semua", "All"),
    "search": ("Cari", "Search"),
    "show": ("Tampilkan", "Show"),
    "reset": ("Hapus filter", "Clear filters"),
    "outages": ("Gangguan aktif", "Open outages"),
    "affected": ("{n} situs terdampak", "{n} sites affected"),
    "cause": ("Penyebab", "Cause"),
    "since": ("sejak", "since"),
    "behind": ("di belakang", "behind"),
    "backup": ("lewat jalur cadangan, {name} gagal", "on its backup path, {name} failed"),
    "maint": ("pemeliharaan", "maintenance"),
    "power_cut": ("pemadaman PLN terjadwal", "scheduled power cut"),
    "sites": ("{n} situs", "{n} sites"),
    "none": ("Tidak ada situs yang cocok dengan filter.", "No site matches the filters."),
    "all_up": ("Semua situs normal.", "All sites are up."),
    "bad_kab": ("Kabupaten “{v}” tidak ada di inventaris.", "No kabupaten “{v}” in the inventory."),
    "bad_status": (
        "Status “{v}” tidak dikenal; pilih salah satu dari daftar.",
        "Unknown status “{v}”; pick one from the list.",
    ),
    "not_ready": (
        "netmon belum siap: status situs belum tersedia.",
        "netmon is not ready: no site status yet.",
    ),
    "first": (
        "Putaran polling pertama belum selesai ({done} dari {total} target); "
        "status bisa belum lengkap.",
        "First poll round not finished ({done} of {total} targets); states may be incomplete.",
    ),
    "stale": (
        "Pemantauan tertinggal: {n} dari {total} target tidak dipolling lebih dari 3 interval; "
        "status bisa usang.",
        "Monitoring stale: {n} of {total} targets not polled for over 3 intervals; "
        "states may be out of date.",
    ),
    "updated": (
        "Diperbarui {t}, dimuat ulang tiap {s} detik.",
        "Updated {t}, reloads every {s} s.",
    ),
    "switch": ("English", "Bahasa Indonesia"),
    "units": ("hr j m dtk", "d h m s"),  # days hours minutes seconds
    "months": (
        "Jan Feb Mar Apr Mei Jun Jul Agu Sep Okt Nov Des",
        "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
    ),
}
LANGS = ("id", "en")


def word(key: str, lang: str) -> str:
    """The label in ``lang``; an unlisted state/cause/kind shows its own name."""
    got = WORDS.get(key)
    if got is None:
        return key.partition(".")[2].replace("_", " ") or key
    return got[LANGS.index(lang)]


def link_detail(link: dict[str, Any], lang: str) -> str:
    """``fo-x (ujung noc/core:sfp1: antarmuka mati, daya terima -40.0 dBm)``: the link a
    site is down by, and what its near end (the parent's interface) reads now."""
    readings = []
    if link.get("oper_up") is False:
        readings.append(word("link.down", lang))
    if link.get("rx_power_dbm") is not None:
        readings.append(word("link.rx", lang).format(v=link["rx_power_dbm"]))
    end = word("link.end", lang).format(end=link["near_end"])
    return f"{link['id']} ({end}{': ' if readings else ''}{', '.join(readings)})"


CSS = (
    "body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:56em;padding:.5em;"
    "color:#222;background:#fff}h1{font-size:1.2em;margin:.2em 0}"
    "h2{font-size:1.05em;margin:1em 0 .3em}h3{font-size:1em;margin:.6em 0 .2em}"
    "ul{list-style:none;padding:0;margin:0}"
    "li{padding:.3em .5em;margin:.3em 0;border-left:.4em solid #888;background:#f4f4f4}"
    ".down,.down>li,.n .down{border-color:#c00}"
    ".unreachable,.unreachable>li,.n .unreachable{border-color:#e07000}"
    ".degraded,.degraded>li,.n .degraded{border-color:#c9a400}.n .up{border-color:#2a2}"
    "b+small,form a{white-space:nowrap}label{display:inline-block;margin-right:.4em}"
    ".u li{border:0;margin:0;padding:.1em 0;background:none}small{color:#555}"
    ".n a{display:inline-block;margin:.1em;padding:.1em .5em;border-radius:.3em;"
    "border:1px solid #999;text-decoration:none;color:inherit}.n .z{opacity:.5}"
    ".m{background:#ddd;border-radius:.3em;padding:0 .3em;font-size:.85em}"
    ".w{background:#fff3cd;border:1px solid #d9b54a;padding:.4em .6em}"
    "form{margin:.5em 0}select,input,button{font-size:1em;margin:.1em 0;max-width:100%}"
    "footer{margin-top:1.5em;font-size:.85em;color:#555}"
    "@media(prefers-color-scheme:dark){body{background:#111;color:#ddd}li{background:#1d1d1d}"
    "small,footer{color:#aaa}a{color:#8cf}.w{background:#3a3000}.m{background:#444}}"
)
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
