"""The Ray engine: the same run as the local engine, on a local Ray and a local S3 server.

One Ray of this machine (two cores) serves the whole module, started by anonymise's own
``local_ray`` — so bound to 127.0.0.1, with its temporary folder and its processes' home
under the test's temporary folder — after a moto S3 server on 127.0.0.1 has been started,
so that Ray's workers inherit its address and test keys from the environment, as they
would on a real cluster. Photos are the real samples, anonymised by the real models.
Every process started here also loads ``hooks/sitecustomize.py``: in Ray's worker
processes only, it makes a photo named ``*crash*`` kill its worker, as a decoder crash would.
"""

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

if importlib.util.find_spec("ray") is None:  # not imported: local_ray must be the first to
    pytest.skip("the Ray engine's tests need Ray: pip install -e '.[test]'", allow_module_level=True)
boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

from anonymise.cli import forget_app  # noqa: E402
from anonymise.cluster import anonymise_dataset  # noqa: E402
from anonymise.cluster.actor import DIED  # noqa: E402
from anonymise.cluster.session import local_ray  # noqa: E402
from anonymise.imagefile.structure import disallowed_parts  # noqa: E402
from anonymise.redactors import build_redactor  # noqa: E402
from anonymise.run.settings import CopySettings, RunOptions  # noqa: E402
from anonymise.video.structure import disallowed_video_parts  # noqa: E402

from conftest import SAMPLES  # noqa: E402
from sampleclip import sample_clip  # noqa: E402
from runs import ANONYMISE, alive, leftovers, noise_jpeg, small_photos, wait_for  # noqa: E402
from test_cli import invoke, photos_in, runner  # noqa: E402
from test_traces import empty_home, left_behind  # noqa: E402,F401  (empty_home: a fixture)

PHOTOS = sorted(p.name for p in SAMPLES.iterdir() if p.suffix in (".jpg", ".png"))
TRUNCATED = "cannot read image: image file is truncated"
# The crash hook, for Ray's worker processes only (its other processes never anonymise).
CRASH_HOOK = """\
import os, sys
if any(argument.endswith("default_worker.py") for argument in sys.argv):
    import anonymise.run.worker as worker
    real_process = worker.PhotoWorker.process
    def process(self, job):
        if "crash" in job.source.name:
            os._exit(9)  # as if the decoder had crashed
        return real_process(self, job)
    worker.PhotoWorker.process = process
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A local S3 server and a local Ray for the module; yields the S3 client."""
    folder = tmp_path_factory.mktemp("cluster")
    hooks = folder / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(CRASH_HOOK)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as environment:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://{host}:{port}", "TMPDIR": str(folder),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(hooks), os.environ.get("PYTHONPATH")])),
        }.items():
            environment.setenv(name, value)
        environment.delenv("AWS_PROFILE", raising=False)
        # Right under pytest's folder: Ray's socket paths must stay short.
        with local_ray(num_cpus=2, temporary_root=tmp_path_factory.getbasetemp()) as ray_folder:
            yield boto3.client("s3", endpoint_url=f"http://{host}:{port}")
        assert not ray_folder.exists(), "the local Ray's temporary folder is removed at the end"
    server.stop()


@pytest.fixture
def messy_photos(tmp_path):
    """The sample photos in a tree, with a truncated photo and a note among them."""
    folder = tmp_path / "card"
    (folder / "DCIM" / "100").mkdir(parents=True)
    for index, name in enumerate(PHOTOS):
        target = folder / ("DCIM/100" if index % 2 else "") / name
        target.write_bytes((SAMPLES / name).read_bytes())
    good = (SAMPLES / PHOTOS[0]).read_bytes()
    (folder / "DCIM" / "100" / "broken.jpg").write_bytes(good[: len(good) // 3])
    (folder / "notes.txt").write_text("shot list")
    return folder


def report_by_file(report, root):
    return {str(Path(e["input"]).relative_to(root)) if not e["input"].startswith("s3://")
            else e["input"].split("/", 3)[3]: e for e in json.loads(report.read_text())["files"]}


def pixels(path):
    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA"))


def test_the_ray_engine_gives_what_the_local_engine_gives(cluster, tmp_path, messy_photos):
    local_out, ray_out = tmp_path / "local", tmp_path / "ray"
    local = invoke(messy_photos, "-o", local_out, "--style", "solid", "--report", tmp_path / "local.json")
    on_ray = invoke(messy_photos, "-o", ray_out, "--style", "solid", "--report", tmp_path / "ray.json",
                    "--engine", "ray", "--json")
    assert (on_ray.exit_code, local.exit_code) == (1, 1), on_ray.output
    local_files, ray_files = report_by_file(tmp_path / "local.json", messy_photos), report_by_file(tmp_path / "ray.json", messy_photos)
    assert sorted(ray_files) == sorted(local_files)  # every file once
    for name, local_entry in local_files.items():
        ray_entry = ray_files[name]
        assert ray_entry["output"] == (local_entry["output"] and local_entry["output"].replace(str(local_out), str(ray_out)))
        assert (ray_entry["status"], ray_entry["reason"], ray_entry["regions"]) == \
            (local_entry["status"], local_entry["reason"], local_entry["regions"]), name
    assert ray_files["DCIM/100/broken.jpg"]["reason"].startswith(TRUNCATED)
    assert ray_files["notes.txt"]["status"] == "skipped"
    assert photos_in(ray_out) == photos_in(local_out) and leftovers(ray_out) == []
    for name in photos_in(local_out):
        assert np.array_equal(pixels(ray_out / name), pixels(local_out / name)), name
    summary = json.loads(on_ray.stdout.splitlines()[-1])
    assert (summary["written"], summary["failed"], summary["skipped"]) == (len(PHOTOS), 1, 1)


def test_object_storage_in_and_out_and_a_re_run(cluster, tmp_path, messy_photos):
    s3 = cluster
    s3.create_bucket(Bucket="archive")
    s3.create_bucket(Bucket="published")
    for path in sorted(p for p in messy_photos.rglob("*") if p.is_file()):
        s3.upload_file(str(path), "archive", f"2019/{path.relative_to(messy_photos).as_posix()}")
    s3.put_object(Bucket="archive", Key="2019/not-a-photo.jpg", Body=b"shot list")
    command = ["s3://archive/2019", "-o", "s3://published/2019", "--engine", "ray", "--json"]

    first = invoke(*command, "--report", tmp_path / "report.json")
    assert first.exit_code == 1 and (tmp_path / "report.json").exists(), first.output
    entries = report_by_file(tmp_path / "report.json", None)
    assert {name: e["status"] for name, e in entries.items()} == {
        **{f"2019/{p.relative_to(messy_photos).as_posix()}": "ok" for p in messy_photos.rglob("*.*")
           if p.suffix in (".jpg", ".png") and p.name != "broken.jpg"},
        "2019/DCIM/100/broken.jpg": "failed", "2019/not-a-photo.jpg": "failed", "2019/notes.txt": "skipped"}
    assert entries["2019/DCIM/100/broken.jpg"]["reason"].startswith(TRUNCATED)
    # The decoder names the file it read: the object, as the local run names the file.
    assert entries["2019/not-a-photo.jpg"]["reason"] == \
        "cannot read image: cannot identify image file 's3://archive/2019/not-a-photo.jpg'"
    assert all(e["regions"] for e in entries.values() if e["status"] == "ok")

    published = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="published")["Contents"])
    assert published == sorted(e["output"].split("/", 3)[3] for e in entries.values() if e["status"] == "ok"), \
        "the destination holds exactly the copies: no state, no temporary objects"
    for key in published:
        data = s3.get_object(Bucket="published", Key=key)["Body"].read()
        copy = tmp_path / "copy" / key
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(data)
        with Image.open(copy) as image:
            assert disallowed_parts(data, image.format) == [], key

    again = invoke(*command)
    summary = json.loads(again.stdout.splitlines()[-1])
    assert (summary["up_to_date"], summary["written"], summary["failed"]) == (len(PHOTOS), 0, 2)
    forgotten = runner.invoke(forget_app, ["s3://published/2019"])
    assert forgotten.stdout.startswith("Forgot s3://published/2019"), forgotten.output
    assert runner.invoke(forget_app, ["s3://published/2019"]).stdout.startswith("Nothing was kept")


def test_a_photo_that_kills_its_worker_fails_alone_and_the_rest_go_on(cluster, tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    small_photos(photos, 5)
    noise_jpeg(photos / "photo-002-crash.jpg")
    settings = CopySettings(redactor=build_redactor("solid"))
    entries = []
    totals = anonymise_dataset([photos], out, settings, RunOptions(jobs=2), on_file=entries.append)
    failed = [(e.input.name, e.reason) for e in entries if e.status == "failed"]
    assert failed == [("photo-002-crash.jpg", DIED)]
    assert (totals.written, totals.failed, len(entries)) == (5, 1, 6)
    assert len(photos_in(out)) == 5 and leftovers(out) == []


def actor_processes():
    """The processes of the anonymising actors on this machine's Ray."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"BatchAnonymiser" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def test_an_actor_killed_mid_batch_loses_nothing(cluster, tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    small_photos(photos, 16, size=(640, 480))
    settled = []
    run = threading.Thread(target=lambda: settled.append(
        anonymise_dataset([photos], out, CopySettings(), RunOptions(jobs=2), report=tmp_path / "report.json")))
    run.start()
    try:
        assert wait_for(lambda: len(photos_in(out)) >= 2 if out.exists() else False, timeout=300)
        victims = actor_processes()
        assert victims, "no actor found"
        os.kill(victims[0], signal.SIGKILL)
        assert wait_for(lambda: not alive(victims[0]), timeout=30)
    finally:
        run.join(timeout=600)
    (totals,) = settled
    assert (totals.written, totals.failed) == (16, 0)
    entries = json.loads((tmp_path / "report.json").read_text())["files"]
    assert sorted(Path(e["input"]).name for e in entries) == sorted(p.name for p in photos.iterdir())
    assert all(e["status"] == "ok" for e in entries)
    assert len(photos_in(out)) == 16 and leftovers(out) == []
    for name in photos_in(out):
        pixels(out / name)  # every copy decodes whole


def recorded_copies(state):
    """How many copies the resume records under ``state`` hold."""
    count = 0
    for records in state.glob("anonymise/resume/*.sqlite3"):
        try:
            with contextlib.closing(sqlite3.connect(f"{records.as_uri()}?mode=ro", uri=True)) as connection:
                count += connection.execute("SELECT COUNT(*) FROM copies").fetchone()[0]
        except sqlite3.Error:  # not made yet
            pass
    return count


def test_a_killed_run_resumes_and_leaves_nothing_but_the_copies(tmp_path, tmp_path_factory, empty_home):
    """The command line as a user runs it: its own local Ray, killed, then run again."""
    environment, folders = empty_home
    # Ray's sockets need a short path: its temporary folders go right under pytest's.
    ray_folders = tmp_path_factory.getbasetemp()
    environment["TMPDIR"] = str(ray_folders)
    before = set(ray_folders.glob("ray-*"))
    photos, out = tmp_path / "photos", tmp_path / "out"
    small_photos(photos, 24, size=(640, 480))
    command = ANONYMISE + [str(photos), "-o", str(out), "--engine", "ray", "--json"]
    running = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment)
    try:
        # Killed once the driver has recorded some copies as complete (it hears of a
        # copy a batch after the actor wrote it).
        assert wait_for(lambda: recorded_copies(folders["state"]) >= 2, timeout=300, interval=0.2)
        running.send_signal(signal.SIGKILL)
    finally:
        running.communicate(timeout=60)
    trace = tmp_path / "network.log"
    traced = ["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace)] if shutil.which("strace") else []
    done = subprocess.run(traced + command, capture_output=True, text=True, env=environment, timeout=600)
    assert done.returncode == 0, done.stderr
    if traced:  # Ray's own traffic, all of it on this machine: no resolver, no cloud metadata service
        elsewhere = [line for line in trace.read_text().splitlines()
                     if re.search(r"AF_INET6?[,}]", line) and not re.search(r'"(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)"', line)]
        assert elsewhere == [], elsewhere[:3]
    summary = json.loads(done.stdout)
    assert summary["up_to_date"] >= 2 and summary["up_to_date"] + summary["written"] == 24
    assert len(photos_in(out)) == 24 and leftovers(out) == []
    for name in photos_in(out):
        pixels(out / name)
    assert left_behind(folders) == []
    # Ray's own files went to the run's temporary folder: the killed run's is left in
    # TMPDIR (nothing could remove it), the finished run's is gone.
    (killed,) = set(ray_folders.glob("ray-*")) - before
    shutil.rmtree(killed, ignore_errors=True)



def test_folders_a_node_cannot_see_are_named(cluster, tmp_path):
    from anonymise.cluster.run import folder_unseen_by_nodes, folders_a_run_needs

    (tmp_path / "photos").mkdir()
    assert folder_unseen_by_nodes(folders_a_run_needs([tmp_path / "photos"], tmp_path / "out")) is None
    unseen = folder_unseen_by_nodes([tmp_path / "elsewhere"])
    assert unseen.startswith("the cluster's node 127.0.0.1 cannot see ") and unseen.endswith(
        "use a folder every node shares, or object storage (s3://…)")


# Ray and pyarrow made impossible to import, as on an installation without the extra.
WITHOUT_RAY = """\
import sys
class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("ray", "pyarrow"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NotInstalled())
"""


@pytest.mark.parametrize("args, message, code", [
    (["{photos}", "-o", "{out}", "--engine", "ray"],
     "Error: the Ray engine needs Ray (ray is missing): pip install 'anonymise[ray]'", 2),
    (["s3://archive/2019", "-o", "{out}"], "Error: s3://archive/2019 is in object storage, which only the Ray "
     "engine reads and writes: add --engine ray (it needs pip install 'anonymise[ray]')", 2),
])
def test_without_ray_one_line_says_what_to_install(tmp_path, args, message, code):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(WITHOUT_RAY)
    small_photos(tmp_path / "photos", 1)
    environment = {**os.environ, "PYTHONPATH": str(hooks)}
    done = subprocess.run(ANONYMISE + [a.format(photos=tmp_path / "photos", out=tmp_path / "out") for a in args],
                          capture_output=True, text=True, env=environment, timeout=120)
    assert (done.returncode, done.stderr.strip()) == (code, message)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("neutral_names", [False, True])
def test_copies_in_object_storage_are_named_as_on_disk(cluster, tmp_path, neutral_names):
    from anonymise.cluster.objectplan import ObjectPlan
    from anonymise.cluster.storage import Storage
    from anonymise.run.plan import Plan

    names = ["a.heic", "a.jpg", "b.HEIC", "c.mpo", "notes.txt", "day 2/a.png", "day 2/x/IMG_0001.jpeg", "z.jps"]
    folder = tmp_path / "tree"
    bucket = f"names-{int(neutral_names)}"
    cluster.create_bucket(Bucket=bucket)
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"only names matter to a plan")
        cluster.put_object(Bucket=bucket, Key=f"tree/{name}", Body=b"only names matter to a plan")

    on_disk = [(str(job.source.relative_to(folder)), str(job.destination.relative_to(tmp_path / "out")))
               for job in Plan([folder], tmp_path / "out", None, neutral_names)]
    stored = [(job.source.split("/tree/", 1)[1], job.destination.split("/out/", 1)[1])
              for job in ObjectPlan(Storage(), [f"s3://{bucket}/tree"], f"s3://{bucket}/out", None, neutral_names)]
    assert stored == on_disk


def stored_keys(s3, bucket):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_records_kept_in_object_storage_and_nowhere_on_the_driver(cluster, tmp_path, monkeypatch):
    s3 = cluster
    for bucket in ("shoot", "public", "private"):
        s3.create_bucket(Bucket=bucket)
    small_photos(tmp_path / "photos", 6, size=(320, 240))
    for path in sorted((tmp_path / "photos").iterdir()):
        s3.upload_file(str(path), "shoot", f"day1/{path.name}")
    driver_state = tmp_path / "driver-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(driver_state))
    temporaries_before = set(Path(tempfile.gettempdir()).glob("anonymise-state-*"))
    command = ["s3://shoot/day1", "-o", "s3://public/day1", "--engine", "ray", "--json",
               "--state", "s3://private/anonymise"]

    first = invoke(*command)
    assert first.exit_code == 0, first.output
    records = stored_keys(s3, "private")
    assert records[0] == "anonymise/key" and len(records) == 2 and re.fullmatch(
        r"anonymise/resume/[0-9a-f]{32}\.sqlite3", records[1]), records
    assert stored_keys(s3, "public") == [f"day1/photo-{i:03d}.jpg" for i in range(6)], "the copies, and nothing else"
    assert not driver_state.exists(), "the driver keeps no records of its own"
    assert set(Path(tempfile.gettempdir()).glob("anonymise-state-*")) == temporaries_before

    again = invoke(*command)
    assert json.loads(again.stdout.splitlines()[-1])["up_to_date"] == 6, again.output

    forgotten = runner.invoke(forget_app, ["s3://public/day1", "--state", "s3://private/anonymise"])
    assert forgotten.stdout.startswith("Forgot s3://public/day1"), forgotten.output
    # pyarrow keeps an empty marker for the folder it emptied: no record is left.
    assert [key for key in stored_keys(s3, "private") if not key.endswith("/")] == ["anonymise/key"]
    assert not driver_state.exists()


@pytest.mark.parametrize("state", ["s3://public/day2/state", "s3://shoot2/day2/.state"])
def test_records_are_never_kept_where_they_would_be_published_or_read(cluster, tmp_path, state):
    cluster.create_bucket(Bucket="shoot2")
    cluster.put_object(Bucket="shoot2", Key="day2/a.jpg", Body=noise_jpeg_bytes(tmp_path))
    refused = invoke("s3://shoot2/day2", "-o", "s3://public/day2", "--engine", "ray", "--state", state)
    assert refused.exit_code == 2 and f"refusing to keep the resume records in {state}" in refused.output


def test_records_put_back_while_the_run_goes_on(cluster):
    """A driver killed outright loses at most a sync interval of progress."""
    from anonymise.cluster.statestore import state_in_store
    from anonymise.run.plan import Job
    from anonymise.run.resume import ResumeRecords

    cluster.create_bucket(Bucket="records")
    copies = [Job(Path(f"/in/{i}.jpg"), Path(f"/out/{i}.jpg"), Path("/out")) for i in range(2)]
    with state_in_store("s3://records/state", sync_seconds=0.2) as folder:
        records = ResumeRecords(False, warn=pytest.fail, disk_full=pytest.fail, folder=folder,
                                files=SizedCopies())
        records.record(copies[0], b"fingerprint")
        assert wait_for(lambda: len(stored_keys(cluster, "records")) == 2, timeout=10, interval=0.1)
        stored = {key: cluster.get_object(Bucket="records", Key=key)["Body"].read()
                  for key in stored_keys(cluster, "records")}
        records.close()
    # What was put back mid-run is a whole database, holding the copy recorded.
    database = [data for key, data in stored.items() if key.endswith(".sqlite3")][0]
    path = Path(tempfile.mkdtemp()) / "records.sqlite3"
    try:
        path.write_bytes(database)
        assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM copies").fetchone() == (1,)
    finally:
        shutil.rmtree(path.parent)


class SizedCopies:
    """Copies the records see without reading a disk: all of them 1000 bytes."""

    on_this_computer = False

    def folder_id(self, root):
        return str(root).encode()

    def copy_id(self, destination, root):
        return destination.name.encode()

    def size(self, destination):
        return 1000


def noise_jpeg_bytes(folder):
    noise_jpeg(folder / "noise.jpg", 64, 48, seed=0)
    return (folder / "noise.jpg").read_bytes()


def test_videos_run_on_ray_as_they_do_here_and_from_object_storage(cluster, tmp_path):
    s3 = cluster
    clips = tmp_path / "clips"
    sample_clip(clips / "march.mov")
    local = invoke(clips, "-o", tmp_path / "local", "--style", "solid", "--report", tmp_path / "local.json")
    on_ray = invoke(clips, "-o", tmp_path / "ray", "--style", "solid", "--report", tmp_path / "ray.json",
                    "--engine", "ray")
    assert (local.exit_code, on_ray.exit_code) == (0, 0), on_ray.output
    here, there = report_by_file(tmp_path / "local.json", clips), report_by_file(tmp_path / "ray.json", clips)
    assert there["march.mov"]["output"] == str(tmp_path / "ray" / "march.mp4")
    assert (there["march.mov"]["frames"], there["march.mov"]["regions"]) == \
        (here["march.mov"]["frames"], here["march.mov"]["regions"])

    s3.create_bucket(Bucket="footage")
    s3.create_bucket(Bucket="footage-published")
    s3.upload_file(str(clips / "march.mov"), "footage", "2024/march.mov")
    stored = invoke("s3://footage/2024", "-o", "s3://footage-published/2024", "--engine", "ray", "--neutral-names")
    assert stored.exit_code == 0, stored.output
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="footage-published")["Contents"]]
    assert keys == ["2024/video-0001.mp4"]
    copy = tmp_path / "video-0001.mp4"
    copy.write_bytes(s3.get_object(Bucket="footage-published", Key=keys[0])["Body"].read())
    assert disallowed_video_parts(copy) == []
    with av.open(str(copy)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 25
