"""The customer's words in replies written the way the public reply-parser corpora show real clients write them
(benchmarks/question_extraction.py: talon, quotequail, planer). Hand-written emails in those clients' styles."""
from __future__ import annotations

from plugin_host.text import strip_quoted


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
