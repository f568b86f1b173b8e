# The whole farm in one container: `docker run --network host phonefarm --simulate 4`.
# With host networking the API (50809, the phone wall at /) and the Prefect UI (4200) are on the
# host's loopback; the Prefect UI asks for the login in /data/prefect/auth-string. To open the API to the
# network: `-e PHONEFARM_HOST=0.0.0.0 -e PHONEFARM_API_TOKEN=<16+ characters>`.
# Real phones: give the container the USB bus as a device, with the host group that may write the
# phones' nodes (Android's udev rules: plugdev), never --privileged:
#   --device /dev/bus/usb --group-add "$(getent group plugdev | cut -d: -f3)"
# or point it at an adb server elsewhere (PHONEFARM_ADB_HOST / --adb-port).
# Everything runs as the user phonefarm (uid 10001), never root: a run is that user's code, no more.
FROM python:3.11-slim

WORKDIR /app
# The runtime lock only (every package pinned and hashed): no test or lint tool in the image.
COPY requirements.txt .
RUN pip install --no-cache-dir --require-hashes -r requirements.txt
COPY . .
# The checkout is root's and read-only to the service: a run cannot change the code the next run forks.
RUN useradd --system --uid 10001 --create-home --home-dir /home/phonefarm phonefarm \
 && mkdir -p /data && chown phonefarm:phonefarm /data && chmod 0700 /data

ENV PHONEFARM_DATA_DIR=/data
VOLUME /data
USER phonefarm
EXPOSE 50809

ENTRYPOINT ["python", "-m", "api"]
