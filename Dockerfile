# The whole farm in one container: `docker run -p 50809:50809 -p 4200:4200 phonefarm --simulate 4`.
# Real phones: give the container the host's USB bus (--privileged -v /dev/bus/usb:/dev/bus/usb)
# or point it at an adb server elsewhere (PHONEFARM_ADB_HOST / --adb-port).
FROM python:3.11-slim

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .

# Listening on all interfaces inside the container is what makes the published ports reachable.
ENV PHONEFARM_HOST=0.0.0.0 \
    PHONEFARM_DATA_DIR=/data \
    PHONEFARM_PREFECT_HOST=0.0.0.0
VOLUME /data
EXPOSE 50809 4200

ENTRYPOINT ["python", "-m", "api"]
