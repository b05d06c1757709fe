#!/usr/bin/env python3
"""Writes an OCI image layout tarball (what `ctr image import` reads) with
one uncompressed layer holding the given files, per the OCI image spec:
blobs addressed by SHA-256, a manifest, a config whose rootfs lists the
layer's diff id, and an index naming the image.

    oci_image.py OUT.tar NAME:TAG ENTRYPOINT FILE[=PATH_IN_IMAGE]...
"""
import hashlib
import io
import json
import sys
import tarfile


def main():
    out, name, entrypoint, *files = sys.argv[1:]
    blobs = {}

    def put(data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return digest, len(data)

    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for spec in files:
            source, _, target = spec.partition("=")
            data = open(source, "rb").read()
            info = tarfile.TarInfo((target or "/" + source.rsplit("/", 1)[-1]).lstrip("/"))
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    layer_digest, layer_size = put(layer.getvalue())
    platform = {"os": "linux", "architecture": "amd64"}
    config = dict(platform, config={"Entrypoint": [entrypoint]},
                  rootfs={"type": "layers", "diff_ids": [layer_digest]})
    config_digest, config_size = put(json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest, "size": layer_size}],
    }
    manifest_digest, manifest_size = put(json.dumps(manifest).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": manifest_digest, "size": manifest_size, "platform": platform,
                       "annotations": {"org.opencontainers.image.ref.name": name,
                                       "io.containerd.image.name": name}}],
    }
    with tarfile.open(out, "w") as tar:
        def add(path, data):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add("index.json", json.dumps(index).encode())
        for digest, data in blobs.items():
            add("blobs/sha256/" + digest.split(":", 1)[1], data)


if __name__ == "__main__":
    main()
