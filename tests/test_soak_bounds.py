"""What a long-running ``serve`` keeps must stay bounded: each component driven many times (benchmarks/soak.py
found these growing without end over a 40-minute soak)."""
from __future__ import annotations


def test_feedback_file_stays_bounded_and_keeps_what_the_index_reads(tmp_path, monkeypatch):
    from plugins.kb_suggest import store

    monkeypatch.setattr(store, "FEEDBACK_FILE_BYTES", 60_000)
    articles = ["refunds", "shipping", "password"]
    largest = 0
    for n in range(3000):
        store.remember_insert(tmp_path, f"Question number {n} about my order", articles[n % 3], f"d{n % 3}",
                              thread=f"19a{n:05x}")
        largest = max(largest, store.feedback_path(tmp_path).stat().st_size)
    assert largest <= 60_000 + 200  # one insert past the bound at most, then compacted
    expected = {a: [f"Question number {n} about my order" for n in range(i, 3000, 3)][-store.FEEDBACK_PER_ARTICLE:]
                for i, a in enumerate(articles)}
    assert store.load_feedback(tmp_path) == expected  # the index learns exactly what it did from the whole file
    # The same insert in the same ticket is still learnt once after a compaction.
    store.remember_insert(tmp_path, "Question number 2997 about my order", "refunds", "d0", thread=f"19a{2997:05x}")
    assert store.load_feedback(tmp_path) == expected


def test_feedback_of_many_articles_is_cut_to_the_newest_inserts(tmp_path, monkeypatch):
    from plugins.kb_suggest import store

    monkeypatch.setattr(store, "FEEDBACK_FILE_BYTES", 20_000)
    for n in range(2000):  # 400 articles, 5 inserts each: the latest per article alone would not fit
        store.remember_insert(tmp_path, f"Question {n}", f"article-{n % 400}", thread=f"t{n}")
        assert store.feedback_path(tmp_path).stat().st_size <= 20_000 + 200
    feedback = store.load_feedback(tmp_path)
    assert feedback["article-399"] == ["Question 399", "Question 799", "Question 1199", "Question 1599",
                                       "Question 1999"][-len(feedback["article-399"]):]
    assert "Question 1999" in feedback["article-399"] and sum(map(len, feedback.values())) >= 100


def test_feedback_keeps_no_question_the_index_no_longer_reads(tmp_path):
    """The index reads each article's latest 50 inserts; the customers' questions before those taught nothing any
    more, yet stayed in the file until it passed 4 MB (years for a small team). Past 50 + 10 inserts of an article
    the file is compacted to what the index reads, whatever its size."""
    from plugins.kb_suggest import store

    for n in range(store.FEEDBACK_PER_ARTICLE + store.FEEDBACK_UNREAD + 1):
        store.remember_insert(tmp_path, f"Question {n} from a customer", "refunds", "d0", thread=f"19a{n:05x}")
    store.remember_insert(tmp_path, "Another article's question", "shipping", "d1", thread="19b00001")
    lines = store.feedback_path(tmp_path).read_text().splitlines()
    assert len(lines) <= store.FEEDBACK_PER_ARTICLE + store.FEEDBACK_UNREAD + 1
    assert "Question 0 from a customer" not in "\n".join(lines)
    last = store.FEEDBACK_PER_ARTICLE + store.FEEDBACK_UNREAD
    assert store.load_feedback(tmp_path) == {
        "refunds": [f"Question {n} from a customer" for n in range(last + 1)][-store.FEEDBACK_PER_ARTICLE:],
        "shipping": ["Another article's question"]}


def test_feedback_keeps_no_question_of_an_edited_article_the_index_no_longer_reads(tmp_path):
    """An article's content digest changes with every edit, and the index reads the latest 50 inserts of the
    article whatever its content was then; the compaction kept 50 per article and digest, so the questions
    inserted before an edit stayed in the file, taught nothing, and were never dropped."""
    from plugins.kb_suggest import store
    from plugins.kb_suggest.articles import Article

    most = store.FEEDBACK_PER_ARTICLE + store.FEEDBACK_UNREAD
    for n in range(store.FEEDBACK_PER_ARTICLE):
        store.remember_insert(tmp_path, f"Question {n} before the edit", "refunds", "d-before", thread=f"19a{n:05x}")
    for n in range(most + 1):
        store.remember_insert(tmp_path, f"Question {n} after the edit", "refunds", "d-after", thread=f"19b{n:05x}")
    kept = store.feedback_path(tmp_path).read_text()
    assert "before the edit" not in kept
    assert len(kept.splitlines()) <= most
    refunds = Article(id="refunds", title="Refunds", body="Refunds take five days.")
    assert store.load_feedback(tmp_path, [refunds]) == {
        "refunds": [f"Question {n} after the edit" for n in range(most + 1)][-store.FEEDBACK_PER_ARTICLE:]}


def test_inserts_another_process_wrote_count_towards_an_articles_bound(tmp_path):
    """An insert counts the article's inserts without reading the whole file again when the file is as this
    process left it; lines written before this process started, or by another process since (a second host,
    ``labeldesk forget``), count all the same."""
    import json

    from plugins.kb_suggest import store

    path = store.feedback_path(tmp_path)
    half = (store.FEEDBACK_PER_ARTICLE + store.FEEDBACK_UNREAD) // 2

    def written_elsewhere(numbers):
        with path.open("a", encoding="utf-8") as fh:
            fh.writelines(json.dumps({"question": f"Question {n}", "article": "refunds"}) + "\n" for n in numbers)

    written_elsewhere(range(half))  # before this process's first insert (an older serve)
    store.remember_insert(tmp_path, f"Question {half}", "refunds", "d0", thread="19a0")
    written_elsewhere(range(half + 1, 2 * half + 1))  # after it, while this process's count stands
    store.remember_insert(tmp_path, f"Question {2 * half + 1}", "refunds", "d0", thread="19a1")
    questions = [json.loads(raw)["question"] for raw in path.read_text().splitlines()]
    assert questions == [f"Question {n}" for n in range(2 * half + 2)][-store.FEEDBACK_PER_ARTICLE:]
