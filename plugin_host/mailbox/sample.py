"""The sample support inbox that seeds the local mailbox (``--seed sample``, ``labeldesk demo``).

Over 40 realistic threads in English, Russian and Polish: questions, follow-ups, an angry customer,
an urgent outage, answered and resolved threads, an agent-initiated thread, a bounce, an
out-of-office auto-reply, mailing-list mail, a newsletter, HTML-only mail, an attachment, legacy
charsets and encoded display names. Everything is deterministic for a given ``now``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from datetime import datetime, timedelta, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.utils import format_datetime

SAMPLE_KB = Path(__file__).parent / "data" / "kb"  # help articles the demo suggests
AGENTS = {
    "anna.kowalska@example.com": {"first_name": "Anna", "last_name": "Kowalska", "title": "Support Engineer"},
    "ivan.petrov@example.com": {"first_name": "Ivan", "last_name": "Petrov", "title": "Support Engineer"},
    "sam.taylor@example.com": {"first_name": "Sam", "last_name": "Taylor", "title": "Team Lead"},
}


@dataclass(frozen=True)
class SeedMessage:
    raw: bytes
    label_ids: tuple[str, ...]
    thread_key: str
    received_at: datetime


# (key, language, customer name, customer address, subject, [(hours ago, who, body)])
# who: "c" customer, "a:<agent email>" agent reply from the support address.
CONVERSATIONS = [
    ("order-late", "en", "Jane Cooper", "jane.cooper@example.org", "Where is my order #10482?",
     [(30, "c", "Hi,\n\nI ordered a standing desk on Monday (order #10482) and the tracking page still says "
                "'label created'. Could you check where it is?\n\nThanks,\nJane")]),
    ("refund", "en", "Mark Johnson", "mark.j@example.net", "Refund for duplicate charge",
     [(20, "c", "Hello,\n\nI was charged twice for my subscription this month (two charges of $49). "
                "Please refund the duplicate.\n\nMark")]),
    ("password", "en", "Priya Shah", "priya.shah@example.com.test", "Can't reset my password",
     [(6, "c", "Hi team, the password reset email never arrives. I checked spam. My login is priya.shah. "
               "What can I do?")]),
    ("outage", "en", "Tom Baker", "tom.baker@bigcorp.example", "URGENT: production is down, we are losing money",
     [(1, "c", "Our checkout has been failing for 20 minutes with error 502 from your API. "
               "Production is down and we are losing money every minute. Please call me ASAP.\n\nTom Baker, CTO")]),
    ("angry", "en", "Linda Park", "linda.park@example.org", "This is the third time I am writing!!!",
     [(50, "c", "I have written twice about my broken blender and nobody answered. This is unacceptable. "
                "I want a replacement or my money back."),
      (26, "c", "Still nothing. If I don't hear back today I will dispute the charge with my bank.")]),
    ("feature", "en", "Omar Haddad", "omar@example.io.test", "Feature request: dark mode",
     [(70, "c", "Love the app! Any plans for a dark mode? My eyes would thank you.")]),
    ("invoice", "en", "Grace Lee", "grace.lee@example.org", "Invoice with VAT number",
     [(44, "c", "Could you reissue invoice INV-2291 with our VAT number PL5261040828? Thank you."),
      (40, "a:anna.kowalska@example.com", "Hi Grace,\n\nof course — I've reissued INV-2291 with your VAT "
                                          "number; you'll find it in your account under Billing.\n\n"
                                          "Best regards,\nAnna Kowalska\nSupport Engineer")]),
    ("shipping-intl", "en", "Lucas Martin", "lucas.martin@example.fr", "Do you ship to France?",
     [(12, "c", "Bonjour! Sorry, English is fine: do you ship to France, and how long does it take?")]),
    ("cancel", "en", "Emma Wilson", "emma.w@example.org", "Cancel my subscription",
     [(90, "c", "Please cancel my subscription at the end of this billing period."),
      (80, "a:ivan.petrov@example.com", "Hello Emma,\n\nyour subscription is cancelled as of 30 November; "
                                        "you keep access until then.\n\nKind regards,\nIvan Petrov"),
      (78, "c", "Thank you, that's all!")]),
    ("bug-export", "en", "Noah Kim", "noah.kim@example.dev", "CSV export is empty",
     [(16, "c", "When I export my contacts to CSV the file only has the header row. Using Chrome on macOS. "
                "Steps: Contacts > Export > CSV.")]),
    ("api-key", "en", "Ava Brown", "ava.brown@example.org", "How do I rotate my API key?",
     [(8, "c", "Hi, what's the safest way to rotate our API key without downtime?")]),
    ("followup-wait", "en", "Ethan Davis", "ethan.davis@example.org", "Damaged item received",
     [(28, "c", "My parcel arrived today and the lamp's glass shade is broken. Photos attached later."),
      (4, "c", "Any update on this? I still have the broken lamp.")]),
    ("vip", "en", "Olivia Garcia", "olivia@vipclient.example", "Onboarding 50 new seats",
     [(3, "c", "We're adding 50 seats next week. Can someone walk us through bulk user import?")]),
    ("change-address", "en", "Liam Miller", "liam.miller@example.org", "Change delivery address",
     [(2, "c", "I just placed order #10511 and made a typo in the street name. It should be 12 Oak Street, "
               "not 12 Oka Street. Can you fix it before it ships?")]),
    ("discount", "en", "Sophia Moore", "sophia.moore@example.org", "Student discount?",
     [(100, "c", "Do you offer a student discount?"),
      (96, "a:sam.taylor@example.com", "Hi Sophia,\n\nyes — 30% with a valid student email. Use code "
                                       "STUDENT30 at checkout.\n\nBest,\nSam Taylor\nTeam Lead")]),
    ("two-factor", "en", "James Anderson", "james.anderson@example.org", "Lost my phone, 2FA locked out",
     [(5, "c", "I lost my phone and can't log in because of two-factor authentication. How do I recover "
               "my account?")]),
    ("gdpr", "en", "Isabella Thomas", "isabella.thomas@example.org", "Delete my data (GDPR)",
     [(60, "c", "Under GDPR I request deletion of all personal data you hold about me.")]),
    ("integration", "en", "Benjamin White", "ben.white@example.org", "Slack integration stopped posting",
     [(9, "c", "Since yesterday our Slack channel gets no notifications from your app. We didn't change "
               "anything.")]),
    ("pricing", "en", "Mia Harris", "mia.harris@example.org", "Annual plan pricing",
     [(36, "c", "Is there a discount if we pay annually for the Team plan?")]),
    ("resolved", "en", "Charlotte Clark", "charlotte.clark@example.org", "Login loop on Safari",
     [(120, "c", "Safari keeps sending me back to the login page."),
      (118, "a:anna.kowalska@example.com", "Hi Charlotte,\n\nplease allow cookies for our domain in Safari "
                                           "settings; that fixes the loop.\n\nBest regards,\nAnna Kowalska"),
      (110, "c", "That worked, thanks a lot!")]),
    ("quoted", "en", "Henry Lewis", "henry.lewis@example.org", "Re: Your order has shipped",
     [(14, "c", "The tracking number in your email doesn't work on the carrier site.\n\nOn Mon, 16 Nov 2026 "
                "at 10:00, Shop <shop@example.com> wrote:\n> Your order has shipped!\n> Tracking: 1Z999\n\n-- \n"
                "Henry Lewis\nSent from my iPhone")]),
    ("weekend", "en", "Amelia Walker", "amelia.walker@example.org", "Weekend delivery possible?",
     [(75, "c", "Can you deliver on Saturday? I'm not home on weekdays.")]),
    ("ru-payment", "ru", "Мария Иванова", "maria.ivanova@example.ru", "Не работает оплата картой",
     [(3, "c", "Здравствуйте!\n\nПри оплате заказа картой появляется ошибка «платёж отклонён», хотя деньги "
               "на карте есть. Срочно нужна помощь, заказ нужен к пятнице.\n\nМария")]),
    ("ru-delivery", "ru", "Алексей Смирнов", "a.smirnov@example.ru", "Где мой заказ?",
     [(40, "c", "Добрый день. Заказ №5531 оформлен неделю назад, статус не меняется. Подскажите, когда "
                "будет доставка?")]),
    ("ru-refund", "ru", "Ольга Кузнецова", "olga.k@example.ru", "Возврат товара",
     [(26, "c", "Здравствуйте, хочу вернуть куртку — не подошёл размер. Как оформить возврат?"),
      (22, "a:ivan.petrov@example.com", "Здравствуйте, Ольга!\n\nОформить возврат можно в личном кабинете: "
                                        "Заказы → Возврат. Курьер заберёт товар бесплатно.\n\n"
                                        "С уважением,\nИван Петров")]),
    ("ru-password", "ru", "Дмитрий Волков", "d.volkov@example.ru", "Не приходит письмо для сброса пароля",
     [(7, "c", "Не приходит письмо для восстановления пароля, проверил папку спам. Что делать?")]),
    ("ru-koi8", "ru", "Сергей Попов", "s.popov@example.ru", "Вопрос по счёту",
     [(18, "c", "Добрый день! Нужен счёт на оплату для юридического лица. Реквизиты пришлю.")]),
    ("ru-followup", "ru", "Елена Соколова", "e.sokolova@example.ru", "Сломался чайник",
     [(48, "c", "Чайник перестал включаться через две недели после покупки. Это гарантийный случай?"),
      (20, "c", "Напоминаю о своём вопросе, ответа пока нет.")]),
    ("ru-thanks", "ru", "Николай Орлов", "n.orlov@example.ru", "Спасибо за помощь",
     [(130, "c", "Подскажите, можно ли изменить тариф в середине месяца?"),
      (128, "a:ivan.petrov@example.com", "Николай, да, можно — разница будет пересчитана автоматически.\n\n"
                                         "С уважением,\nИван Петров"),
      (125, "c", "Спасибо за помощь!")]),
    ("ru-api", "ru", "Татьяна Лебедева", "t.lebedeva@example.ru", "Ошибка 401 в API",
     [(10, "c", "Наш сервис получает ошибку 401 при обращении к API, хотя ключ действующий. Не работает "
                "интеграция с CRM.")]),
    ("ru-quoted", "ru", "Павел Морозов", "p.morozov@example.ru", "Re: Ваш заказ отправлен",
     [(13, "c", "Трек-номер не находится на сайте перевозчика.\n\n15 ноября 2026 г., Магазин пишет:\n"
                "> Ваш заказ отправлен.\n\n-- \nПавел")]),
    ("pl-order", "pl", "Łukasz Wiśniewski", "lukasz.wisniewski@example.pl", "Pilne: zamówienie nie dotarło",
     [(4, "c", "Dzień dobry,\n\nzamówienie nr 7781 miało dotrzeć wczoraj, a kurier nadal go nie dostarczył. "
               "To pilne — potrzebuję go na jutro.\n\nPozdrawiam,\nŁukasz")]),
    ("pl-invoice", "pl", "Katarzyna Nowak", "k.nowak@example.pl", "Faktura VAT",
     [(30, "c", "Dzień dobry, proszę o wystawienie faktury VAT na firmę do zamówienia 7702. NIP: 5260250274.")]),
    ("pl-return", "pl", "Piotr Zieliński", "piotr.zielinski@example.pl", "Zwrot towaru",
     [(55, "c", "Witam, chciałbym zwrócić buty, rozmiar nie pasuje. Jak to zrobić?"),
      (50, "a:anna.kowalska@example.com", "Dzień dobry Panie Piotrze,\n\nzwrot można zgłosić w zakładce "
                                          "Zamówienia → Zwrot; kurier odbierze paczkę bezpłatnie.\n\n"
                                          "Pozdrawiam serdecznie,\nAnna Kowalska")]),
    ("pl-login", "pl", "Agnieszka Wójcik", "a.wojcik@example.pl", "Nie mogę się zalogować",
     [(11, "c", "Nie mogę się zalogować do konta, strona pokazuje błąd 500. Co się dzieje?")]),
    ("pl-outage", "pl", "Tomasz Kamiński", "t.kaminski@firma.example.pl", "Awaria — system nie działa",
     [(1, "c", "Od godziny nie działa cały system płatności w naszym sklepie. Tracimy klientów, prosimy o "
               "pilny kontakt!")]),
    ("pl-question", "pl", "Magdalena Lewandowska", "m.lewandowska@example.pl", "Pytanie o gwarancję",
     [(45, "c", "Jak długa jest gwarancja na ekspres do kawy i czy obejmuje młynek?")]),
    ("pl-iso", "pl", "Krzysztof Dąbrowski", "k.dabrowski@example.pl", "Zmiana adresu dostawy",
     [(15, "c", "Proszę o zmianę adresu dostawy zamówienia 7799 na ul. Różana 5, Łódź.")]),
    ("pl-followup", "pl", "Joanna Mazur", "joanna.mazur@example.pl", "Uszkodzona paczka",
     [(34, "c", "Paczka przyszła uszkodzona, a w środku pęknięty kubek."),
      (5, "c", "Czy ktoś może mi odpowiedzieć? Czekam już ponad dobę.")]),
    ("alias", "en", "Zoe Adams", "zoe.adams@example.org", "Question sent to help@",
     [(22, "c", "I found help@ on your website — is this the right address for billing questions?")]),
    ("html-only", "en", "Daniel Young", "daniel.young@example.org", "Screenshots of the error",
     [(17, "c", "<html><body><p>Hi,</p><p>The <b>upload</b> button does nothing when I click it.</p>"
                "<p>Browser: Firefox 131.</p></body></html>")]),
    ("attachment", "en", "Chloe King", "chloe.king@example.org", "Receipt for warranty claim",
     [(24, "c", "Attached is my receipt for the warranty claim on the coffee grinder.")]),
]


# The support address's alias in the sample inbox; the seeded mailbox may send as it, like a Workspace alias.
SAMPLE_ALIASES = ("help@example.com",)


def sample_agents() -> dict[str, dict]:
    return {email: dict(info) for email, info in AGENTS.items()}


def sample_config_toml(api_root: str) -> str:
    aliases = ", ".join(f'"{a}"' for a in SAMPLE_ALIASES)
    lines = ['[mailbox]', 'address = "support@example.com"', f'aliases = [{aliases}]',
             f'api_root = "{api_root}"', "", "[agents]"]
    for email, info in AGENTS.items():
        lines.append(f'"{email}" = {{ first_name = "{info["first_name"]}", last_name = "{info["last_name"]}", '
                     f'title = "{info["title"]}" }}')
    lines += ["", "[plugins]", 'enabled = ["autoreply", "sla", "kb_suggest"]', "",
              "[plugins.autoreply]", 'hours = "Mon-Fri 09:00-18:00"', 'timezone = "Europe/Warsaw"', 'holidays = "PL"', "",
              "[plugins.sla]", 'hours = "Mon-Fri 09:00-18:00"', 'timezone = "Europe/Warsaw"', 'holidays = "PL"',
              'vip_domains = ["vipclient.example"]', 'team_lead = "sam.taylor@example.com"', "",
              "[plugins.kb_suggest]", f'articles = "{SAMPLE_KB.as_posix()}"', ""]
    return "\n".join(lines)


def _when(now: datetime, hours_ago: float) -> datetime:
    return (now - timedelta(hours=hours_ago)).replace(microsecond=0)


def _message(key: str, index: int, sender: Address, to: Address, subject: str, body: str, when: datetime,
             parent_ids: list[str], charset: str | None = None) -> tuple[bytes, str]:
    message_id = f"<sample-{key}-{index}@example.com>"
    if body.lstrip().startswith("<html"):
        msg = EmailMessage()
        msg.set_content(body, subtype="html")
    elif charset:
        msg = MIMEText(body, "plain", charset)
    else:
        msg = EmailMessage()
        msg.set_content(body)
    if isinstance(msg, MIMEText):  # legacy API: encode non-ASCII names and subject explicitly
        from email.header import Header
        from email.utils import formataddr

        msg["From"] = formataddr((sender.display_name, sender.addr_spec), charset=charset or "utf-8")
        msg["To"] = formataddr((to.display_name, to.addr_spec))
        msg["Subject"] = Header(subject, charset or "utf-8").encode()
    else:
        msg["From"] = str(sender)
        msg["To"] = str(to)
        msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id
    if parent_ids:
        msg["In-Reply-To"] = parent_ids[-1]
        msg["References"] = " ".join(parent_ids)
    if key == "attachment" and isinstance(msg, EmailMessage):
        msg.add_attachment(b"%PDF-1.4\n% sample receipt\n", maintype="application", subtype="pdf",
                           filename="receipt.pdf")
        msg.set_boundary(f"sample-{key}-{index}-boundary")  # deterministic output
    return msg.as_bytes(), message_id


def _conversation(now: datetime, support: str, alias: str, spec) -> list[SeedMessage]:
    key, lang, name, address, subject, turns = spec
    customer = Address(display_name=name, addr_spec=address)
    to = Address(addr_spec=alias if key == "alias" else support)
    charset = {"ru-koi8": "koi8-r", "pl-iso": "iso-8859-2"}.get(key)
    out, ids = [], []
    for index, (hours, who, body) in enumerate(turns):
        when = _when(now, hours)
        reply_subject = subject if index == 0 or subject.lower().startswith("re:") else f"Re: {subject}"
        if who == "c":
            raw, mid = _message(key, index, customer, to, reply_subject, body, when, ids, charset)
            labels = ("INBOX", "UNREAD") if hours < 24 else ("INBOX",)
        else:
            agent = AGENTS[who[2:]]
            sender = Address(display_name=f"{agent['first_name']} {agent['last_name']}", addr_spec=support)
            raw, mid = _message(key, index, sender, customer, reply_subject, body, when, ids)
            labels = ("SENT",)
        ids.append(mid)
        out.append(SeedMessage(raw, labels, key, when))
    return out


def _special(now: datetime, support: str) -> list[SeedMessage]:
    out = []
    # Agent-initiated thread: an agent writes first; the customer answers.
    agent = Address(display_name="Sam Taylor", addr_spec=support)
    customer = Address(display_name="Ruby Scott", addr_spec="ruby.scott@example.org")
    raw, mid = _message("proactive", 0, agent, customer, "Your account will be migrated on Friday",
                        "Hi Ruby,\n\nheads-up: we'll migrate your account to the new data centre on Friday at "
                        "22:00 UTC; expect 10 minutes of downtime.\n\nBest regards,\nSam Taylor\nTeam Lead",
                        _when(now, 52), [])
    out.append(SeedMessage(raw, ("SENT",), "proactive", _when(now, 52)))
    raw, _ = _message("proactive", 1, customer, Address(addr_spec=support), "Re: Your account will be migrated on Friday",
                      "Thanks Sam — can we move it to Saturday instead?", _when(now, 9), [mid])
    out.append(SeedMessage(raw, ("INBOX", "UNREAD"), "proactive", _when(now, 9)))
    # A bounce (DSN) for a reply we sent.
    out.append(SeedMessage(_dsn(now, support), ("INBOX", "UNREAD"), "bounce", _when(now, 19)))
    # Out-of-office auto-reply.
    ooo = EmailMessage()
    ooo["From"] = "Peter Hall <peter.hall@example.org>"
    ooo["To"] = support
    ooo["Subject"] = "Automatic reply: Your ticket about order #10390"
    ooo["Date"] = format_datetime(_when(now, 23))
    ooo["Message-ID"] = "<sample-ooo-0@example.org>"
    ooo["Auto-Submitted"] = "auto-replied"
    ooo["X-Auto-Response-Suppress"] = "All"
    ooo.set_content("I'm out of the office until Monday with limited access to email.")
    out.append(SeedMessage(ooo.as_bytes(), ("INBOX", "UNREAD"), "ooo", _when(now, 23)))
    # Mailing-list mail and a newsletter.
    for n, (sender, subject, extra) in enumerate([
        ("Python Announce <python-announce-list@example.org>", "[Python-announce] Release 3.14.1",
         {"List-Id": "<python-announce-list.example.org>", "List-Unsubscribe": "<mailto:leave@example.org>",
          "Precedence": "list"}),
        ("Acme Newsletter <no-reply@news.example.com>", "Our November product update",
         {"List-Unsubscribe": "<https://news.example.com/u>", "Precedence": "bulk"}),
    ]):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, support, subject
        msg["Date"] = format_datetime(_when(now, 33 + n))
        msg["Message-ID"] = f"<sample-list-{n}@example.org>"
        for name, value in extra.items():
            msg[name] = value
        msg.set_content("News and updates.\n\nUnsubscribe at any time.")
        out.append(SeedMessage(msg.as_bytes(), ("INBOX",), f"list-{n}", _when(now, 33 + n)))
    return out


def _dsn(now: datetime, support: str) -> bytes:
    when = format_datetime(_when(now, 19))
    return (f"Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\nTo: {support}\r\n"
            f"Subject: Undelivered Mail Returned to Sender\r\nDate: {when}\r\n"
            "Message-ID: <sample-bounce-0@mx.example.net>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"\r\n\r\n'
            "--dsn\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered to "
            "<old.customer@example.net>: 550 5.1.1 User unknown\r\n"
            "--dsn\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
            "Final-Recipient: rfc822; old.customer@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "--dsn--\r\n").encode()


def sample_inbox(now: datetime, support: str = "support@example.com", aliases=SAMPLE_ALIASES,
                 agents: dict | None = None) -> list[SeedMessage]:
    """Every seed message, oldest first."""
    alias = aliases[0] if aliases else support
    seeds = [m for spec in CONVERSATIONS for m in _conversation(now, support, alias, spec)]
    seeds += _special(now, support)
    return sorted(seeds, key=lambda s: (s.received_at, s.thread_key))


NEW_TOPICS = [
    ("en", "Where is my parcel?", "Hi, my parcel #{n} hasn't moved for three days. Can you check?"),
    ("ru", "Не могу войти в аккаунт", "Здравствуйте! Не могу войти в аккаунт, пишет «неверный пароль». Заявка {n}."),
    ("pl", "Pytanie o fakturę", "Dzień dobry, proszę o fakturę do zamówienia {n}. Pozdrawiam."),
    ("en", "URGENT: payments failing", "All our payments fail since 10 minutes (ticket {n}). We are losing money!"),
    ("en", "How do I change my plan?", "Hello, how can I switch to the annual plan? Account {n}."),
    ("pl", "Nie działa aplikacja", "Aplikacja nie działa po aktualizacji, zgłoszenie {n}."),
]
NAMES = [("Alice Green", "alice"), ("Борис Гришин", "boris"), ("Zofia Krawczyk", "zofia"), ("Victor Hugo", "victor"),
         ("Nina Rossi", "nina"), ("Wojciech Szymański", "wojtek")]


def new_customer_message(n: int, now: datetime, support: str = "support@example.com") -> bytes:
    """The n-th of an endless, deterministic stream of fresh customer emails (``labeldesk demo``)."""
    lang, subject, body = NEW_TOPICS[n % len(NEW_TOPICS)]
    name, local = NAMES[n % len(NAMES)]
    msg = EmailMessage()
    msg["From"] = str(Address(display_name=name, addr_spec=f"{local}{n}@example.org"))
    msg["To"] = support
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now.astimezone(timezone.utc))
    msg["Message-ID"] = f"<demo-{n}@example.org>"
    msg.set_content(body.format(n=n))
    return msg.as_bytes()
