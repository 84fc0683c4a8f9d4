"""The customer's words in replies written the way the public reply-parser corpora show real clients write them
(benchmarks/question_extraction.py: talon, quotequail, planer). Hand-written emails in those clients' styles."""
from __future__ import annotations

import pytest

from plugin_host.text import customer_text, strip_quoted


def test_answers_written_between_the_quoted_lines_are_the_customers():
    """An inline reply under "On … wrote:" lost every answer: all below the attribution line was cut."""
    text = ("My answers are below.\n"
            "On 04/12/2026 09:15 AM, Support <support@example.com> wrote:\n"
            "\n"
            "> Which plan are you on?\n"
            "The Team plan, since March.\n"
            "> Does the export fail every time?\n"
            "Only for files over 2 GB.")
    kept = strip_quoted(text)
    assert "The Team plan, since March." in kept
    assert "Only for files over 2 GB." in kept
    assert "Which plan" not in kept and "wrote:" not in kept


def test_a_line_below_the_quote_is_kept_and_the_quote_still_goes():
    text = ("Still broken, see below.\n"
            "On Mon, Dec 7, 2026 at 10:02 AM Support <support@example.com> wrote:\n"
            "> Please clear your cache.\n"
            "> Anna\n"
            "\n"
            "Regards, Tom")
    assert strip_quoted(text) == "Still broken, see below.\nRegards, Tom"


def test_unmarked_history_below_an_attribution_stays_cut():
    """Outlook-style history without ">" marks: nothing below the attribution is the customer's."""
    text = ("Still broken.\n"
            "On Mon, Dec 7, 2026 at 10:02 AM Support <support@example.com> wrote:\n"
            "Please clear your cache.\n"
            "> an old quote\n"
            "Anna")
    assert strip_quoted(text) == "Still broken."


def test_the_signature_below_an_inline_reply_still_ends_it():
    text = ("See inline.\n"
            "On Mon, Dec 7, 2026 at 10:02 AM Support <support@example.com> wrote:\n"
            "> Which browser?\n"
            "Firefox 140.\n"
            "-- \n"
            "Tom Baker\n"
            "> not mine either")
    assert strip_quoted(text) == "See inline.\nFirefox 140."


def test_a_line_below_the_quote_under_a_wrapped_attribution_is_kept():
    """Gmail wraps "On … <address> wrote:" over two lines: the second half is no customer's line either."""
    text = ("Still broken.\n"
            "On Mon, Dec 7, 2026 at 10:02 AM Anna Kowalska from Example Support\n"
            "<support@example.com> wrote:\n"
            "\n"
            "> Please clear your cache.\n"
            "\n"
            "Regards, Tom")
    assert strip_quoted(text) == "Still broken.\nRegards, Tom"


def test_an_attribution_above_a_bottom_posted_reply_is_not_the_question():
    """Thunderbird bottom-posting: "On … wrote:", the quote, then the customer's words: the attribution line was
    kept as the first line of the question."""
    text = "On 04/12/2026 06:26 PM, Support Team wrote:\n> Hi, is it fixed?\nNo, it still fails at checkout."
    assert strip_quoted(text) == "No, it still fails at checkout."


def test_a_customers_own_first_line_like_an_attribution_stays_without_a_quote_below():
    text = "On 04/12/2026 06:26 PM, your courier wrote:\nthe parcel was left at the door. It was not."
    assert strip_quoted(text) == text


def test_an_attribution_wrapped_over_three_lines_is_cut():
    """Apple Mail wraps a long address: "On …, Somebody <\\naddress>\\nwrote:"."""
    text = ("Thanks, that helps.\n"
            "\n"
            "On Nov 30, 2026, at 12:47 PM, Support <\n"
            "reply+416ffd3258d4d2fa4c85cfa4c44e1721d66e3e8f4@support.example.com>\n"
            "wrote:\n"
            "\n"
            "Our old answer")
    assert strip_quoted(text).strip() == "Thanks, that helps."


def test_an_attribution_wrapped_before_wrote_with_a_date_and_time_is_cut():
    """Thunderbird's HTML reply as text: "On 26.06.2026 14:41, Anna Kowalska\\nwrote:" (no address)."""
    text = "Hi. I am fine.\nOn 26.06.2026 14:41, Anna Kowalska\nwrote:\nHello! How are you?"
    assert strip_quoted(text) == "Hi. I am fine."


def test_a_customers_two_lines_ending_in_wrote_without_date_and_time_stay():
    text = "Your courier on Monday\nwrote:\nleft at the door"
    assert strip_quoted(text) == text


@pytest.mark.parametrize("block", [
    "Von: Anna Schmidt <anna@example.com>\nGesendet: Dienstag, 25. November 2026 14:59\nAn: Support\nBetreff: Rechnung",
    "De : Camille Martin [mailto:camille@example.com]\nEnvoyé : vendredi 23 janvier 2026 16:39\nÀ : Support\n"
    "Objet : Facture",
    "Från: Anno Sportel\nSkickat: den 26 augusti 2026 14:45\nTill: Support\nÄmne: RE: Faktura",
    "Fra: Lars Hansen\nSendt: 19. marts 2026 12:10\nTil: Support\nEmne: Faktura",
    "Van: Julia de Vries\nVerzonden: dinsdag 17 februari 2026 13:18\nAan: Support\nOnderwerp: Factuur",
    "De: Ana García\nEnviado el: martes, 17 de febrero de 2026 13:18\nPara: Support\nAsunto: Factura",
    # Outlook 2003's HTML as text: "From:" alone on its line, the name below it
    "From:\nSupport Team [mailto:support@example.com]\nSent: Friday, June 27, 2026 12:06\nTo: Alex",
    # Hotmail / web mail blocks that open with the date
    "Date: Thu, 26 Jun 2026 13:53:45 +0400\nSubject: Your invoice\nFrom: billing@example.com",
    "Date: Wed, 16 May 2026 00:15:02 -0600\nTo: alex@example.com",
])
def test_a_quoted_header_block_in_outlooks_languages_starts_the_quote(block):
    """Outlook writes its reply header in the writer's language; only English, Russian and Polish were known, so a
    German or French Outlook reply's whole history went into the question."""
    text = f"The invoice is still wrong.\n\n{block}\n\nOur old message about the invoice"
    assert strip_quoted(text).strip() == "The invoice is still wrong."


@pytest.mark.parametrize("own", [
    "Дата: 05.12.2026 14:00\nТема: возврат\nКомментарий: деньги не пришли",
    "Data: 05.12.2026 14:00\nTemat: zwrot pieniędzy\nNie dostałem zwrotu.",
    "Date: 05.12.2026 14:00\nSubject: refund\nI never got the money back.",
    "De: mi hermano\nPara: su cumpleaños",
])
def test_a_customers_own_date_and_subject_lines_stay(own):
    """A customer who writes the date and subject of their complaint as fields is not quoting a message."""
    text = f"Hello,\n{own}"
    assert strip_quoted(text) == text


@pytest.mark.parametrize("attribution", [
    "Den 14 september 2026 02:23:18, Valentino Rudy (valentino@example.com) skrev:",
    "Den 14. sep. 2026 kl. 02.23 skrev Support <support@example.com>:",
    "Op 17 feb. 2026, om 13:18 heeft Julia de Vries <julia@example.com> het volgende geschreven:",
    "Op 13-02-2026 3:18 schreef Julia de Vries <julia@example.com>:",
    "Il giorno 17 feb 2026, alle ore 13:18, Support <support@example.com> ha scritto:",
    "Em 17 de fev. de 2026, às 13:18, Support <support@example.com> escreveu:",
    "pe 17.2.2026 klo 13.18 Support <support@example.com> kirjoitti:",
    "Vào 14:24 8 tháng 6, 2026, Support <support@example.com> đã viết:",
    "---- Support Team wrote ----",
    "------On 12/06/2026 17:32 PM, Support Team wrote-----",
])
def test_attributions_in_more_of_gmails_and_android_languages_start_the_quote(attribution):
    """Gmail and Apple Mail write "On … wrote:" in the writer's language; Swedish, Danish, Dutch, Italian,
    Portuguese, Finnish and Vietnamese ones (and Android's dashed "---- Name wrote ----") were not known."""
    text = f"Still no refund.\n\n{attribution}\n\nYour refund is on its way."
    assert strip_quoted(text).strip() == "Still no refund."


@pytest.mark.parametrize("own", [
    "Den 5 december 2026 skrev jag till er om detta:",  # "On 5 December I wrote to you about this:"
    "Op 5 december 2026 schreef ik u al hierover:",
])
def test_a_customers_own_sentence_with_a_date_and_those_verbs_stays(own):
    text = f"Hej,\n{own}\ningen svar."
    assert strip_quoted(text) == text


def html_message(markup: str):
    from email.mime.text import MIMEText
    return MIMEText(markup, "html", "utf-8")


def test_a_line_break_in_html_source_is_a_space_not_a_new_line():
    """HTML mail wraps its source (Outlook at 76 columns): "Am\\r\\n26. Mai 2026 … schrieb …:" is one line to a reader,
    but the text split it, so the attribution was not seen and "Am" and the history stayed in the question."""
    markup = ("<div><p>Here is my question.<br>\r\nWhy is the invoice\r\ndouble?</p></div>\r\n"
              "<p style=\"margin: 10pt 0;\">Am\r\n26. Mai 2026 19:20:17 schrieb Anna &lt;anna@example.com&gt;:</p>\r\n"
              "<blockquote type=\"cite\">Hey,<br><br>your invoice is attached.<br></blockquote>")
    assert customer_text(html_message(markup)) == "Here is my question.\nWhy is the invoice double?"


def test_preformatted_html_keeps_its_lines():
    markup = "<p>The log:</p><pre>line one\nline two</pre>"
    assert customer_text(html_message(markup)) == "The log:\nline one\nline two"


@pytest.mark.parametrize("markup", [
    # Apple Mail / Thunderbird, an attribution in a language the rules do not know
    "<div>Where is my order?</div><div>Ta nhớ mãi</div><blockquote type=\"cite\"><div>Your order shipped.</div>"
    "<div>Anna</div></blockquote>",
    # Gmail
    "<div dir=\"ltr\">Where is my order?<div>Ta nhớ mãi</div></div><div class=\"gmail_quote\">"
    "<blockquote class=\"gmail_quote\" style=\"margin:0 0 0 .8ex\">Your order shipped.<br>Anna</blockquote></div>",
    # Yahoo
    "<div>Where is my order?</div><div>Ta nhớ mãi</div><div class=\"yahoo_quoted\"><div>Your order shipped.</div>"
    "<div>Anna</div></div>",
])
def test_html_quote_markup_is_quoted_history(markup):
    """An HTML-only reply's quote was read as the customer's text unless its attribution line was recognised."""
    assert customer_text(html_message(markup)) == "Where is my order?\nTa nhớ mãi"


def test_an_indented_blockquote_is_the_customers_own_text():
    markup = "<div>The error says:</div><blockquote style=\"margin:0 0 0 40px\">Payment declined</blockquote>"
    assert customer_text(html_message(markup)) == "The error says:\nPayment declined"


def test_an_html_message_forwarded_in_a_quote_without_a_comment_keeps_its_text():
    markup = "<div>Begin forwarded message:</div><blockquote type=\"cite\"><div>My card was charged twice.</div>" \
             "</blockquote>"
    assert "My card was charged twice." in customer_text(html_message(markup))


def test_answers_between_html_quotes_are_kept():
    markup = "<div>See below.</div><blockquote type=\"cite\">Which plan?</blockquote><div>The Team plan.</div>" \
             "<blockquote type=\"cite\">Which browser?</blockquote><div>Firefox.</div>"
    assert customer_text(html_message(markup)) == "See below.\nThe Team plan.\nFirefox."
