# One image for every test server of compose.yaml: Debian with the packages
# scripts/servers.sh installs natively (its own package step, run here), so
# both paths test the same server versions. The scripts themselves are
# bind-mounted at run time (compose.yaml), so configs always come from the
# checkout's scripts/servers.sh and scripts/servers.d/.
#
# DEBIAN_IMAGE: pulled where a registry is reachable; docker/base-image.sh
# makes it locally (debootstrap --variant=minbase + docker import) where not.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}

# Only what the package step reads, so editing other scripts keeps the
# cached layer.
COPY scripts/servers.sh scripts/certs.sh /pconn/scripts/
COPY scripts/servers.d/ /pconn/scripts/servers.d/
RUN bash -c 'source /pconn/scripts/servers.sh && ensure_packages' \
    && rm -rf /var/lib/apt/lists/*

COPY docker/run-group.sh /pconn/docker/
ENTRYPOINT ["/pconn/docker/run-group.sh"]
