"""The webhook target guard through a worker deployed-style (ALLOW_PRIVATE_TARGETS=false), and the same target allowed with the flag on."""

from __future__ import annotations

import pytest

from support.documents import action, by_node, chain, trigger, webhook

# Every spelling of "this machine" and the metadata address; PORT is the recording target's port.
BLOCKED = [
    "http://127.0.0.1:PORT/ssrf",
    "http://localhost:PORT/ssrf",
    "http://2130706433:PORT/ssrf",        # 127.0.0.1 as one decimal number
    "http://0x7f.0.0.1:PORT/ssrf",        # hex first octet
    "http://0177.0.0.1:PORT/ssrf",        # octal first octet
    "http://127.1:PORT/ssrf",             # shortened form
    "http://[::1]:PORT/ssrf",
    "http://[::ffff:127.0.0.1]:PORT/ssrf",
    "http://0.0.0.0:PORT/ssrf",
    "http://169.254.169.254/latest/meta-data/",
]


@pytest.mark.parametrize("url", BLOCKED)
def test_private_targets_are_refused_with_the_flag_off(owner, strict_worker, target, url):
    url = url.replace("PORT", str(target.port))
    ex = owner.api.at(strict_worker).run(chain(trigger(), webhook("hook", url, {"probe": True}, timeoutMs=3000)))
    hook = by_node(ex)["hook"]
    assert ex["status"] == "failed" and hook["status"] == "failed", hook
    assert "refused" in hook["error"] and "ALLOW_PRIVATE_TARGETS" in hook["error"], hook["error"]
    assert hook["attempts"] == 1, "a refused target is not retried"
    assert target.requests() == [], "the private target must receive nothing"


def test_the_same_target_is_reached_with_the_flag_on(owner, target):
    ex = owner.api.run(chain(trigger(), webhook("hook", target.url("/ssrf"), {"probe": True})))
    assert by_node(ex)["hook"]["status"] == "succeeded"
    assert [s.json() for s in target.wait_for(1, "/ssrf")] == [{"probe": True}]


def test_strict_worker_still_runs_other_actions(owner, strict_worker):
    """The flag only guards user-typed URLs: the owner's own database writes still work."""
    ex = owner.api.at(strict_worker).run(chain(trigger(), action("note", "send_notification", {"title": "strict worker"})))
    assert ex["status"] == "succeeded", ex["results"]
    assert by_node(ex)["note"]["output"]["user_id"] == owner.id
