"""A screenshot of a stance-report page in headless Chromium (Debian's `chromium`), for the README.

    python -m tools.report_screenshot outputs/seesaw-news/report/index.html docs/report.png

Fails when the page raises a script error or logs one to the console.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def screenshot(page_path: Path, image: Path, width: int = 1280, height: int = 1800) -> list[str]:
    """Open the page, take a screenshot of its first `height` pixels; the script errors seen."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("needs Debian's chromium: apt-get install chromium")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[*FLAGS, "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": width, "height": height})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(page_path.resolve().as_uri())
        image.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(image))
        browser.close()
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.report_screenshot", description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("image", type=Path)
    parser.add_argument("--height", type=int, default=1800)
    args = parser.parse_args()
    errors = screenshot(args.page, args.image, height=args.height)
    if errors:
        sys.exit("script errors: " + "; ".join(errors))
    print(f"{args.image} ({args.image.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
