"""Replies as mail clients write them in their users' languages, built from the clients' own localized strings.

tests/data/localized_reply_headers.json holds the strings Thunderbird, Roundcube, K-9 Mail / Thunderbird for
Android and (from a public parser) Gmail and Outlook in Japanese put above a quoted reply or a forwarded message,
each with its source. :func:`cases` renders each of them the way its client fills it in — the customer's new text
in that language, the attribution with a plausible date, time, name and address, then the quoted history — and
:func:`check` says whether :func:`plugin_host.text.customer_text` kept every word of the new text and none of the
quote. The dates are plausible renderings of each locale's short date (the clients take them from the system),
not harvested strings.

    python benchmarks/localized_clients.py [--failures]
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from dataclasses import dataclass
from email.mime.text import MIMEText
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from plugin_host.text import customer_text  # noqa: E402

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "localized_reply_headers.json"

# The customer's new text and the support team's earlier message, per language (no word shared between them).
NEW = {
    "ru": "Заказ 4471 так и не пришёл. Верните деньги на карту, пожалуйста.",
    "pl": "Zamówienie 4471 nadal nie dotarło. Proszę o zwrot pieniędzy na kartę.",
    "uk": "Замовлення 4471 досі не прийшло. Поверніть гроші на картку, будь ласка.",
    "de": "Die Bestellung 4471 ist immer noch nicht angekommen. Bitte erstatten Sie den Betrag.",
    "fr": "La commande 4471 n'est toujours pas arrivée. Merci de me rembourser.",
    "es": "El pedido 4471 todavía no ha llegado. Por favor devuélvanme el dinero.",
    "it": "L'ordine 4471 non è ancora arrivato. Vorrei il rimborso per favore.",
    "pt": "O pedido 4471 ainda não chegou. Quero o reembolso por favor.",
    "nl": "Bestelling 4471 is nog steeds niet aangekomen. Graag mijn geld terug.",
    "sv": "Beställning 4471 har fortfarande inte kommit fram. Jag vill ha pengarna tillbaka.",
    "cs": "Objednávka 4471 stále nedorazila. Prosím o vrácení peněz.",
    "tr": "4471 numaralı sipariş hâlâ gelmedi. Lütfen paramı iade edin.",
    "zh": "订单 4471 还没有到。请退款。",
    "ja": "注文 4471 がまだ届きません。返金をお願いします。",
}
QUOTE = {
    "ru": "Мы передали посылку курьеру вчера вечером.",
    "pl": "Przekazaliśmy przesyłkę kurierowi wczoraj wieczorem.",
    "uk": "Ми передали посилку кур'єру вчора ввечері.",
    "de": "Wir haben das Paket gestern Abend dem Kurier übergeben.",
    "fr": "Nous avons remis le colis au transporteur hier soir.",
    "es": "Entregamos el paquete al mensajero ayer tarde.",
    "it": "Abbiamo consegnato il pacco al corriere ieri sera.",
    "pt": "Entregamos o pacote ao entregador ontem à noite.",
    "nl": "Wij hebben het pakket gisteravond aan de koerier gegeven.",
    "sv": "Vi lämnade paketet till budet igår kväll.",
    "cs": "Balík jsme včera večer předali kurýrovi.",
    "tr": "Kargonuzu dün akşam kuryeye teslim ettik.",
    "zh": "我们昨晚已将包裹交给快递员。",
    "ja": "昨夜、荷物を配達員に渡しました。",
}
# A plausible short date and time in each locale (what the client takes from the system), and K-9's long date.
DATE = {"ru": "07.12.2026", "pl": "7.12.2026", "uk": "07.12.26", "de": "07.12.26", "fr": "07/12/2026",
        "es": "7/12/26", "it": "07/12/26", "pt": "07/12/2026", "nl": "07-12-2026", "sv": "2026-12-07",
        "cs": "07. 12. 26", "tr": "7.12.2026", "zh": "2026/12/7", "ja": "2026/12/07"}
WHEN = {"ru": "7 декабря 2026 г., 10:05:00", "pl": "7 grudnia 2026 10:05:00"}
SUPPORT = {"ru": "Служба поддержки", "pl": "Obsługa klienta", "uk": "Служба підтримки", "ja": "サポート",
           "zh": "客服"}
FIELDS = {  # the header block's own labels where the harvested format has none (Thunderbird's separators)
    "ru": ["Тема:", "Дата:", "От:", "Кому:"], "pl": ["Temat:", "Data:", "Od:", "Do:"],
}
ADDRESS = "support@shop.example"


@dataclass
class Case:
    name: str
    lang: str
    client: str
    kind: str
    body: str
    new: str
    quote: str  # every word that is no part of the customer's text: attribution, header block and history


def _author(client: str, lang: str, with_address: bool) -> str:
    name = SUPPORT.get(lang, "Support Team")
    return f"{name} <{ADDRESS}>" if with_address else name


def _header_lines(fmt: dict, lang: str, author: str) -> list[str]:
    labels = fmt.get("fields") or FIELDS.get(lang, ["Subject:", "Date:", "From:", "To:"])
    values = []
    for label in labels:
        low = label.lower()
        if low.startswith(("от", "od", "from", "差出人")):
            values.append(f"{label} {author}")
        elif low.startswith(("отправлено", "wysłane", "дата", "data", "date", "送信日時")):
            values.append(f"{label} {WHEN.get(lang, DATE[lang] + ' 10:05')}")
        elif low.startswith(("кому", "do", "to", "копия", "dw")):
            values.append(f"{label} Customer <customer@mail.example>")
        else:
            values.append(f"{label} Re: 4471")
    return values


def render(fmt: dict, with_address: bool) -> Case:
    """One reply as ``fmt``'s client writes it: new text, a blank line, the attribution or header, the history."""
    lang, kind = fmt["lang"], fmt["kind"]
    author = _author(fmt["client"], lang, with_address)
    quote_lines = [f"> {QUOTE[lang]}", ">", f"> {author.split(' <')[0]}"]
    if kind in ("wrote", "ondate", "wroteondate"):
        top = [fmt["text"].format(author=author, date=DATE[lang], time="10:05", when=WHEN.get(lang, ""),
                                  jadate="2026年12月7日(月)")]
    elif kind in ("original", "forward"):
        top = [fmt["text"]] + _header_lines(fmt, lang, author) + [""]
        quote_lines = [QUOTE[lang], "", author.split(" <")[0]]
    else:  # header: a separator (or none) and the client's header fields, history without ">" marks
        top = ([fmt["text"]] if fmt["text"] else []) + _header_lines(fmt, lang, author) + [""]
        quote_lines = [QUOTE[lang], "", author.split(" <")[0]]
    history = "\n".join(top + quote_lines)
    body = f"{NEW[lang]}\n\n{history}\n"
    variant = "name+address" if with_address else "name"
    return Case(f"{fmt['client']}/{lang}/{kind}/{variant}", lang, fmt["client"], kind, body, NEW[lang], history)


def formats() -> list[dict]:
    return json.loads(DATA.read_text(encoding="utf-8"))["formats"]


def cases() -> list[Case]:
    """Each format with the author as a name and as "Name <address>" (Thunderbird writes the name when it has one;
    K-9, Roundcube and Gmail write both), the header-block formats once."""
    out = []
    for fmt in formats():
        variants = (True,) if fmt["client"] in ("k9", "roundcube", "gmail", "outlook") else (False, True)
        out += [render(fmt, with_address) for with_address in variants]
    return out


TOKEN = re.compile(r"\w+", re.U)


def words(text: str) -> collections.Counter:
    """Words, and for Chinese and Japanese (no spaces) each ideograph or kana as one."""
    out = collections.Counter()
    for token in TOKEN.findall(text.lower()):
        if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", token):
            out.update(ch for ch in token if not ch.isdigit())
            digits = re.findall(r"\d+", token)
            out.update(digits)
        else:
            out[token] += 1
    return out


def check(case: Case) -> dict:
    """customer_text of ``case`` as a text/plain mail: kept (every word of the new text), clean (no word of the
    quote beyond those the new text has), and the words lost or leaked."""
    text = customer_text(MIMEText(case.body, "plain", "utf-8"))
    want, got = words(case.new), words(text)
    leaked = sorted(w for w in words(case.quote) if got[w] > want[w])
    lost = sorted((want - got).elements())
    return {"text": text, "kept": not lost, "clean": not leaked, "lost": lost, "leaked": leaked}


def table(results: list[tuple[Case, dict]]) -> list[str]:
    rows = collections.defaultdict(list)
    for case, result in results:
        rows[f"{case.client} {case.lang}"].append(result)
        rows["**all**"].append(result)
    out = ["| client, language | cases | kept | clean | kept & clean |", "|---|---|---|---|---|"]
    for name, found in sorted(rows.items(), key=lambda item: (item[0] == "**all**", item[0])):
        n = len(found)
        out.append(f"| {name} | {n} | {sum(r['kept'] for r in found)}/{n} | {sum(r['clean'] for r in found)}/{n} | "
                   f"{sum(r['kept'] and r['clean'] for r in found)}/{n} |")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--failures", action="store_true", help="print each case that is not kept & clean")
    args = parser.parse_args(argv)
    results = [(case, check(case)) for case in cases()]
    print("\n".join(table(results)))
    if args.failures:
        for case, r in results:
            if not (r["kept"] and r["clean"]):
                print(f"\n=== {case.name} lost={r['lost']} leaked={r['leaked']}\n--- body:\n{case.body}--- got:\n"
                      f"{r['text']}")


if __name__ == "__main__":
    main()
