"""The customer's words, kept and cut right: attribution lines need an address or a whole date, wrapped
attributions, Yandex forwards, greetings without a comma; and a deleted escalation task is made again."""
from __future__ import annotations

import pytest

from plugin_host.text import normalise, strip_greeting, strip_quoted


def customer(text: str) -> str:
    return normalise(strip_quoted(text))


# 1. A time in the customer's own "сайт пишет:" line makes it an attribution: the problem is cut.
@pytest.mark.parametrize("text, kept", [
    ("Здравствуйте!\nСегодня в 14:30 при оплате сайт пишет:\n«Ошибка 502. Платёж отклонён»\nЧто делать?\n",
     "Ошибка 502"),
    ("Dzień dobry,\nO 10:15 kurier napisał:\n„Paczka zwrócona do nadawcy”\nCo teraz?\n", "Paczka zwrócona"),
    ("Hello,\nOn Monday at 10:30 your system wrote:\nPayment declined, code 51\nPlease help.\n", "code 51"),
])
def test_customer_quoting_someone_with_a_time_keeps_their_words(text, kept):
    assert kept in customer(text)


# 2. Gmail wraps long attribution lines at 78 columns; in Russian and Polish the wrapped line leaks.
@pytest.mark.parametrize("text", [
    "Спасибо, всё пришло.\n\nпн, 23 нояб. 2026 г. в 10:05, Служба поддержки магазина Ромашка <\n"
    "support@example.com>:\n\n> Ваш заказ отправлен.\n",
    "Dziękuję, doszło.\n\npon., 23 lis 2026 o 10:05 Dział obsługi klienta sklepu Example <\n"
    "support@example.com> napisał(a):\n\n> Zamówienie wysłane.\n",
    # wrapped just before the "<address>"
    "Thanks, it arrived.\n\nOn Mon, 23 Nov 2026 at 10:05, Example Shop Customer Support Team\n"
    "<support@example.com> wrote:\n\n> Your order has shipped.\n",
    "Спасибо, всё пришло.\n\nпн, 23 нояб. 2026 г. в 10:05, Служба поддержки магазина Ромашка\n"
    "<support@example.com>:\n\n> Ваш заказ отправлен.\n",
])
def test_wrapped_gmail_attribution_does_not_leak(text):
    kept = customer(text)
    assert "support@example.com" not in kept and "10:05" not in kept, kept


# 3. Yandex/Mail.ru forward without a comment: the forwarded sender's "date, name <address>:" stays as text.
def test_yandex_forward_header_is_not_customer_text():
    text = ("-------- Пересылаемое сообщение --------\n23.11.2026, 10:05, \"Ян\" <jan@example.com>:\n\n"
            "Где возврат за заказ 123?\n\n-------- Конец пересылаемого сообщения --------\n")
    assert customer(text) == "Где возврат за заказ 123?"


# 4. A greeting without a comma keeps the customer's words: cases in test_kb_review's greeting table.


@pytest.mark.parametrize("text, rest", [
    ("Hello team\nMy order is late.", "My order is late."),
    ("Hi,\nMy order is late.", "My order is late."),
    ("Dear Support Team,\nHelp", "Help"),
    ("Hi John Smith!\nHelp", "Help"),
    ("Witam serdecznie\nproblem", "problem"),
    ("Hi", ""),
])
def test_greetings_still_stripped(text, rest):
    assert strip_greeting(text) == rest


# 5. executor: a task key stays claimed in memory after the task is created, so a task the team deleted
#    (e.g. by mistake) is never made again by this process: "Escalate" answers "task … exists".
def test_escalation_task_deleted_in_tasks_is_created_again(tmp_path):
    from plugin_host import executor as ex
    from plugin_host.actions import Task
    from tests.test_host_sync import make_host

    local, host, _ = make_host(tmp_path)
    task = Task(title="[billing] Refund", notes="n", tasklist="Labeldesk — billing", key="escalate:billing:t1")
    host.executor.create_task(task, ex.Outcome())
    client = host.executor.client
    list_id = host.executor.tasklist_id(task.tasklist)
    for item in client.list_tasks(list_id):  # the team deletes the task in Google Tasks
        client.tasks.tasks().delete(tasklist=list_id, task=item["id"]).execute()
    assert not host.executor.task_exists(task)
    again = ex.Outcome()
    host.executor.create_task(task, again)
    assert again.done == ["task created: [billing] Refund"], again.skipped


@pytest.mark.parametrize("text", [
    "Спасибо, получил!\n\n15 ноября 2026 г., Магазин пишет:\n> Ваш заказ отправлен\n",  # a date, no time
    "Thanks!\n\nOn 23 Nov 2026, Anna wrote:\nquoted without markers\n",
    "Thanks!\nOn 11/23/26 10:05 AM, Anna wrote:\nquoted without markers\n",
])
def test_attributions_with_a_whole_date_and_no_address_still_start_the_quote(text):
    assert normalise(strip_quoted(text)) in ("Спасибо, получил!", "Thanks!")
