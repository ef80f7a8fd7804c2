"""Make the README's screenshots of the review screen over sample data:
docs/screenshots/queue.png and docs/screenshots/ticket.png.

Runs `supporter serve` on a scratch store, posts sample tickets and their customers'
transactions through the API, waits for the drafts, then drives the system Chromium
(/usr/bin/chromium, through Playwright) to sign in and take the pictures. Run it
again whenever the screen changes:

    .venv/bin/python scripts/screenshots.py [--tickets 40] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from supporter.sample_data.files import write_sample_data
from supporter.sample_data.records import TICKET_COLUMNS, TRANSACTION_COLUMNS
from supporter.testing.serve import SUPPORTER, serve_process

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "screenshots only"


def rows(path: Path, fields: tuple[str, ...]) -> list[dict[str, str | None]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [{f: row.get(f) or None for f in fields} for row in csv.DictReader(handle)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=40)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        env = {**os.environ, "SUPPORTER_DB": str(folder / "s.db"), "SUPPORTER_LLM_CACHE": ""}
        env.pop("SUPPORTER_STORE_URL", None)
        files = write_sample_data(folder / "sample", options.tickets, seed=11)
        subprocess.run(
            [*SUPPORTER, "users", "add", "ana", "--role", "reviewer", "--password-stdin"],
            input=PASSWORD,
            text=True,
            env=env,
            check=True,
        )
        token = subprocess.run(
            [*SUPPORTER, "tokens", "create", "--name", "shots", "--role", "admin"],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        headers = {"Authorization": f"Bearer {token.stdout.strip()}"}
        with serve_process(folder, env) as url:
            transactions = rows(files.transactions_path, TRANSACTION_COLUMNS)
            httpx.post(f"{url}/api/v1/transactions", json=transactions, headers=headers, timeout=60)
            tickets = [
                {**t, "subject": t["subject"] or "", "body": t["body"] or ""}
                for t in rows(files.tickets_path, TICKET_COLUMNS)
            ]
            httpx.post(f"{url}/api/v1/tickets", json=tickets, headers=headers, timeout=60)
            while httpx.get(
                f"{url}/api/v1/tickets", params={"status": "received"}, headers=headers
            ).json()["tickets"]:
                time.sleep(0.2)
            queue = httpx.get(
                f"{url}/api/v1/tickets", params={"limit": 200}, headers=headers
            ).json()["tickets"]
            shown = next(
                (
                    row["ticket_id"]
                    for row in queue
                    if any(
                        t["cited"]
                        for t in httpx.get(
                            f"{url}/api/v1/tickets/{row['ticket_id']}", headers=headers
                        ).json()["transactions"]
                    )
                ),
                queue[0]["ticket_id"],
            )
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=options.chromium, args=["--no-sandbox"]
                )
                page = browser.new_page(base_url=url, viewport={"width": 1280, "height": 760})
                page.goto("/login")
                page.fill("#name", "ana")
                page.fill("#password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_selector("table.queue")
                page.screenshot(path=options.out / "queue.png")
                page.goto(f"/tickets/{shown}")
                page.screenshot(path=options.out / "ticket.png")
                browser.close()
    for name in ("queue.png", "ticket.png"):
        print(options.out / name, (options.out / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
