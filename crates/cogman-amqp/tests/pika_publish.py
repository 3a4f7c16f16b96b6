"""Publishes one cogman task with pika, following docs/wire-format.md (version 1).

Usage: python3 pika_publish.py <amqp-url> <queue> <task-id>

Used by the `pika` interop test of cogman-amqp: the Rust side then consumes the task and
checks every field. Exits non-zero if the broker does not confirm the publish.
"""

import datetime
import json
import sys
import uuid

import pika


def main() -> int:
    url, queue, task_id = sys.argv[1], sys.argv[2], sys.argv[3]
    uuid.UUID(task_id)  # the message id must be the task id, a UUID
    created_at = datetime.datetime.now(datetime.timezone.utc)
    headers = {
        "cogman-version": 1,
        "cogman-task-name": "pika.hello",
        "cogman-priority": "High",
        "cogman-retry": 2,
        "cogman-attempt": 0,
        "cogman-original-task-id": task_id,
        "cogman-primary-key": "py-1",
        "cogman-created-at": created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "cogman-timeout-ms": 1500,
        "cogman-workflow": json.dumps(
            {"workflow_id": task_id, "kind": "group", "size": 1, "then": []}
        ),
    }
    properties = pika.BasicProperties(
        message_id=task_id,
        content_type="application/octet-stream",
        delivery_mode=2,
        headers=headers,
    )
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.confirm_delivery()
    # Raises pika.exceptions.UnroutableError / NackError when not confirmed.
    channel.basic_publish(
        exchange="",
        routing_key=queue,
        body=b"\x00hello from pika\xff",
        properties=properties,
        mandatory=True,
    )
    connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
