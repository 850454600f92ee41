"""The documentation says what the code does: the README's usage block is what --help
prints, the README stays a front door, and every relative link of the pages leads to a
file and heading that exist."""
import re

import pytest

from support.helpers import REPO, run_cli

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
         REPO / "examples" / "README.md", REPO / "tests" / "fixtures" / "README.md",
         REPO / "tests" / "boot" / "README.md", REPO / "benchmarks" / "README.md"]


def test_readme_usage_is_what_help_prints():
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```text\n(Usage: packet-networking .*?)```", readme, re.S).group(1)
    code, out, err = run_cli(["--help"], subprocess=True, env={"COLUMNS": "80"})
    assert code == 0 and out == block


def test_readme_is_a_front_door():
    assert len((REPO / "README.md").read_text().splitlines()) <= 300


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path):
    return {slug(line.lstrip("#")) for line in path.read_text().splitlines()
            if line.startswith("#")}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_lead_somewhere(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a URL
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.name}: {target} does not exist"
        if anchor:
            assert anchor in anchors(resolved), f"{page.name}: no heading for #{anchor}"
