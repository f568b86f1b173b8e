# The whole farm in one container: `docker run --network host phonefarm --simulate 4`.
# With host networking the API (50809, the phone wall at /) and the Prefect UI (4200) are on the
# host's loopback; the Prefect UI asks for the login in /data/prefect/auth-string. To open the API to the
# network: `-e PHONEFARM_HOST=0.0.0.0 -e PHONEFARM_API_TOKEN=<16+ characters>`.
# Real phones: give the container the host's USB bus (--privileged -v /dev/bus/usb:/dev/bus/usb)
# or point it at an adb server elsewhere (PHONEFARM_ADB_HOST / --adb-port).
FROM python:3.11-slim

WORKDIR /app
# The runtime lock only (every package pinned and hashed): no test or lint tool in the image.
COPY requirements.txt .
RUN pip install --no-cache-dir --require-hashes -r requirements.txt
COPY . .

ENV PHONEFARM_DATA_DIR=/data
VOLUME /data
EXPOSE 50809

ENTRYPOINT ["python", "-m", "api"]
