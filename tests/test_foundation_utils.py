"""Shared building blocks: references, retries, atomic writes, hashing."""

from __future__ import annotations

import hashlib

import pytest
import requests
import responses

from mirrorkit.digests import MultiHasher, sha256_file, sri_sha512
from mirrorkit.errors import InvalidReference, NpmError
from mirrorkit.fsutil import atomic_write_bytes, atomic_writer
from mirrorkit.http import RetryPolicy, new_session, raise_for_transient, retrying
from mirrorkit.oci.reference import ImageReference, is_image_reference

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "text, registry, repo, tag, digest",
    [
        (
            "registry.redhat.io/openshift-serverless-1/logic-swf-builder-rhel8:1.36.0",
            "registry.redhat.io",
            "openshift-serverless-1/logic-swf-builder-rhel8",
            "1.36.0",
            None,
        ),
        ("127.0.0.1:5000/a/b@" + D, "127.0.0.1:5000", "a/b", None, D),
        ("localhost/x:1@" + D, "localhost", "x", "1", D),
        ("busybox", "docker.io", "library/busybox", None, None),
        ("user/app:2", "docker.io", "user/app", "2", None),
        ("docker://quay.io/org/app:v1", "quay.io", "org/app", "v1", None),
    ],
)
def test_reference_parse(text, registry, repo, tag, digest):
    ref = ImageReference.parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repo, tag, digest)
    assert ImageReference.parse(str(ref)) == ref


@pytest.mark.parametrize(
    "text",
    [
        "",
        " a/b",
        "Reg.io/UPPER:1",
        "quay.io/a/b@sha256:123",
        "quay.io/a/b:",
        "quay.io/a/b:bad tag",
        "quay.io//b:1",
        "quay.io/a/b@md5:" + "a" * 32,
    ],
)
def test_reference_refuses(text):
    with pytest.raises(InvalidReference):
        ImageReference.parse(text)


def test_require_registry():
    with pytest.raises(InvalidReference, match="no registry host"):
        ImageReference.parse("library/busybox:1", require_registry=True)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("registry.redhat.io/a/b:1.0", True),
        ("quay.io/a@" + D, True),
        ("quay.io/a", False),
        ("busybox:1", False),
        ("https://example.com/a:1", False),
        ("just words", False),
        ("1.36.0", False),
    ],
)
def test_is_image_reference(text, expected):
    assert is_image_reference(text) is expected


@responses.activate
def test_retrying_recovers_after_5xx():
    url = "http://127.0.0.1:9/doc"
    responses.add(responses.GET, url, status=503)
    responses.add(responses.GET, url, status=500)
    responses.add(responses.GET, url, json={"ok": True})
    session = new_session()
    sleeps: list[float] = []
    result = retrying(
        lambda: raise_for_transient(session.get(url, timeout=5)).json(),
        what="fetch doc",
        error=NpmError,
        sleep=sleeps.append,
    )
    assert result == {"ok": True}
    assert sleeps == [0.5, 1.0]


@responses.activate
def test_retrying_gives_up_with_one_clear_error():
    url = "http://127.0.0.1:9/doc"
    responses.add(responses.GET, url, body=requests.ConnectionError("reset"))
    session = new_session()
    with pytest.raises(NpmError) as info:
        retrying(
            lambda: session.get(url, timeout=5),
            what="fetch doc",
            error=NpmError,
            policy=RetryPolicy(attempts=3),
            sleep=lambda s: None,
        )
    assert "fetch doc failed after 3 attempts" in str(info.value)
    assert "could not connect" in str(info.value)


def test_atomic_writer_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.bin"
    atomic_write_bytes(target, b"old")
    with pytest.raises(RuntimeError), atomic_writer(target) as handle:
        handle.write(b"half")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_hashing(tmp_path):
    data = b"x" * (3 * 1024 * 1024 + 7)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert sha256_file(path) == ("sha256:" + hashlib.sha256(data).hexdigest(), len(data))
    mh = MultiHasher("sha512", "sha1")
    mh.consume([data[:10], data[10:]])
    assert sri_sha512(mh.digest("sha512")) == sri_sha512(hashlib.sha512(data).digest())
    assert mh.hexdigest("sha1") == hashlib.sha1(data).hexdigest() and mh.size == len(data)
