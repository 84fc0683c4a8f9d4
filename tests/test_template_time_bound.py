"""An admin template that loops without end (a loop in a loop, writing nothing) must not stall the host."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from plugin_host.errors import ConfigError
from plugins.autoreply import templates
from plugins.autoreply.templates import SAMPLE_CONTEXT, check_templates, render

# 30 million turns writing nothing: no bound on text, repetition or powers stops it (two range(99999) would
# take hours; this one takes a second or more on any machine, far beyond the bound the tests set).
LOOPS = "{% for i in range(30000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}"


@pytest.fixture
def short_bound(monkeypatch):
    monkeypatch.setattr(templates, "MAX_SECONDS", 0.05)


def write(tmp_path, text):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "acknowledgement.txt.j2").write_text(text)
    return SimpleNamespace(templates_dir=str(tmp_path))


def test_a_template_looping_at_start_up_is_an_error_naming_it(tmp_path, short_bound):
    # Was: two nested range(99999) loops made start-up hang for hours (no error, no log line).
    settings = write(tmp_path, LOOPS + "Hello {{ first_name }}")
    with pytest.raises(ConfigError, match=r"acknowledgement.txt.j2: refused, the template runs too long"):
        check_templates(settings)


def test_a_template_looping_in_a_branch_falls_back_to_the_shipped_one(tmp_path, short_bound):
    # Was: a customer whose subject took the branch stalled the sync on that ticket, and every ticket after it.
    settings = write(tmp_path, '{% if subject == "loop" %}' + LOOPS + '{% endif %}Mine: "{{ subject }}".\n')
    check_templates(settings)  # the sample subject takes the harmless branch
    assert render(settings, "en", "acknowledgement", SAMPLE_CONTEXT).startswith("Mine:")
    assert "Thank you for writing to us" in render(settings, "en", "acknowledgement",
                                                   {**SAMPLE_CONTEXT, "subject": "loop"})
