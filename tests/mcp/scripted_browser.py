"""A scripted "browser" for the login tests: follows an authorization address, approves on the
consent page of `oauth_server.py` and delivers the redirect to sous's listener, as a person's
browser would. As a command (`BROWSER="python scripted_browser.py %s"`) it is what `webbrowser`
starts; `SCRIPTED_BROWSER_TAMPER=state` changes the state on the way back, `=deny` says no."""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx


def follow(url: str, *, tamper: str = "") -> httpx.Response:
    """Approve the login at `url`; return the answer of the redirect target (sous's listener)."""
    with httpx.Client(follow_redirects=False, timeout=20) as client:
        to_consent = client.get(url)
        assert to_consent.status_code in (302, 307), (to_consent.status_code, to_consent.text)
        consent = to_consent.headers["location"]
        page = client.get(consent)
        request_id = re.search(r'name="request" value="([^"]+)"', page.text)
        assert request_id, page.text
        choice = "no" if tamper == "deny" else "yes"
        approved = client.post(consent.split("?")[0], data={"request": request_id.group(1), "approve": choice})
        assert approved.status_code == 302, approved.text
        back = urlsplit(approved.headers["location"])
        query = dict(parse_qsl(back.query))
        if tamper == "state":
            query["state"] = "not-the-state-sous-sent"
        return client.get(urlunsplit(back._replace(query=urlencode(query))))


if __name__ == "__main__":
    answer = follow(sys.argv[1], tamper=os.environ.get("SCRIPTED_BROWSER_TAMPER", ""))
    print(f"browser: {answer.status_code} {answer.text.strip()}", file=sys.stderr)
