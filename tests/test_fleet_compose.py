"""deploy/docker-compose.fleet.yml, checked as data (no Docker engine runs here): the
services the fleet needs, each with a health check, wired to what exists; the example
schedule.yml loads; the single-machine compose file is untouched by the fleet."""

from __future__ import annotations

from pathlib import Path

import yaml

from narrative_archive.config import load_schedule
from narrative_archive.config.schedule import load_fleet

ROOT = Path(__file__).resolve().parent.parent
FLEET = ROOT / "deploy" / "docker-compose.fleet.yml"


def compose() -> dict:
    return yaml.safe_load(FLEET.read_text())


def test_the_fleet_has_its_services_each_with_a_health_check():
    services = compose()["services"]
    assert {"archive", "crawl-1", "crawl-2", "replica", "replicate", "minio"} <= set(services)
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test")
        assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL"), name
    assert services["crawl-1"]["command"] == ["scrapyd"]
    assert services["archive"]["command"][:2] == ["narrative-archive", "schedule"]
    assert "--replica" in services["replica"]["command"]
    assert services["replicate"]["command"][:3] == ["narrative-archive", "fleet", "replicate"]


def test_references_resolve_and_the_build_context_exists():
    data = compose()
    services, volumes = data["services"], set(data.get("volumes") or {})
    for name, service in services.items():
        for dependency in service.get("depends_on") or {}:
            assert dependency in services, (name, dependency)
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (FLEET.parent / source).exists(), (name, source)
            else:
                assert source in volumes, (name, source)
        build = service.get("build")
        if build:
            assert (FLEET.parent / build["context"] / build["dockerfile"]).is_file()


def test_the_nodes_of_the_example_schedule_are_services_of_the_compose_file(monkeypatch):
    monkeypatch.setenv("SCRAPYD_PASSWORD", "x")
    schedule = ROOT / "deploy" / "fleet" / "schedule.yml"
    fleet = load_fleet(schedule)
    hosts = {node.url.split("//")[1].split(":")[0] for node in fleet.nodes}
    assert hosts == {"crawl-1", "crawl-2"} and fleet.batches.startswith("s3://batches/")
    ids = [o["id"] for o in yaml.safe_load((ROOT / "config" / "outlets.yml").read_text())]
    narratives = [n["id"] for n in
                  yaml.safe_load((ROOT / "config" / "narratives.yml").read_text())]
    assert load_schedule(schedule, ids, narratives)  # its jobs load as config/schedule.yml's


def test_the_single_machine_compose_file_knows_nothing_of_the_fleet():
    single = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert set(single["services"]) == {"scheduler", "datasette"}
    assert "fleet" not in (ROOT / "docker-compose.yml").read_text()
