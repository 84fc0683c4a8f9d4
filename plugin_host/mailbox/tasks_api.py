"""Google Tasks API v1 methods of the local mailbox (escalation tasks)."""
from __future__ import annotations

import hashlib
import re
import time

from .errors import ApiError
from .resources import rfc3339

STATUSES = ("needsAction", "completed")


def _etag(obj: dict) -> str:
    return '"' + hashlib.sha1(repr(sorted(obj.items())).encode()).hexdigest()[:16] + '"'


def _lists(r) -> dict:
    box = r.box
    if not box.tasklists:
        list_id = box.new_task_id()
        box.tasklists[list_id] = {"kind": "tasks#taskList", "id": list_id, "title": "My Tasks",
                                  "updated": rfc3339(time.time())}
        box.tasks[list_id] = {}
    return box.tasklists


def _list_id(r) -> str:
    lists = _lists(r)
    wanted = r.params["tasklist"]
    if wanted == "@default":
        return next(iter(lists))
    if wanted not in lists:
        raise ApiError(404, "Requested entity was not found.", "notFound")
    return wanted


def _public_list(tasklist: dict) -> dict:
    body = dict(tasklist)
    body["etag"] = _etag(tasklist)
    body["selfLink"] = f"https://www.googleapis.com/tasks/v1/users/@me/lists/{tasklist['id']}"
    return body


def tasklists_list(r):
    """Like Google: pages of ``maxResults`` (default and at most 1000, as the discovery document says)
    with ``nextPageToken``."""
    lists = list(_lists(r).values())
    size, start = _page(r, default=1000, most=1000)
    body = {"kind": "tasks#taskLists", "etag": '"local"', "items": [_public_list(l) for l in lists[start:start + size]]}
    if start + size < len(lists):
        body["nextPageToken"] = str(start + size)
    return body


def _page(r, default: int, most: int) -> tuple[int, int]:
    """(page size, first index) from ``maxResults`` and ``pageToken``."""
    try:
        return min(most, max(1, int(r.args.get("maxResults", default)))), int(r.args.get("pageToken") or 0)
    except ValueError:
        raise ApiError(400, "Invalid maxResults or pageToken.", "invalid") from None


def tasklists_get(r):
    return _public_list(_lists(r)[_list_id(r)])


def tasklists_insert(r):
    data = r.json()
    title = (data.get("title") or "").strip()
    if not title:
        raise ApiError(400, "Missing title.", "invalid")
    _lists(r)
    list_id = r.box.new_task_id()
    r.box.tasklists[list_id] = {"kind": "tasks#taskList", "id": list_id, "title": title[:1024],
                                "updated": rfc3339(time.time())}
    r.box.tasks[list_id] = {}
    return _public_list(r.box.tasklists[list_id])


def tasklists_delete(r):
    list_id = _list_id(r)
    del r.box.tasklists[list_id]
    r.box.tasks.pop(list_id, None)
    return None


def _due(value: str) -> str:
    # Google Tasks keeps only the date part of `due`.
    found = re.match(r"^(\d{4}-\d{2}-\d{2})", value or "")
    if not found:
        raise ApiError(400, f"Invalid value for: due: {value}", "invalid")
    return found.group(1) + "T00:00:00.000Z"


def _apply(task: dict, data: dict) -> None:
    if "title" in data:
        if len(data["title"] or "") > 1024:
            raise ApiError(400, "Title too long (max 1024 characters).", "invalid")
        task["title"] = data["title"]
    if "notes" in data:
        if len(data["notes"] or "") > 8192:
            raise ApiError(400, "Notes too long (max 8192 characters).", "invalid")
        task["notes"] = data["notes"]
    if data.get("due"):
        task["due"] = _due(data["due"])
    if "status" in data:
        if data["status"] not in STATUSES:
            raise ApiError(400, f"Invalid value for: status: {data['status']}", "invalid")
        task["status"] = data["status"]
        if data["status"] == "completed":
            task["completed"] = data.get("completed") or rfc3339(time.time())
        else:
            task.pop("completed", None)
    task["updated"] = rfc3339(time.time())


def _public_task(list_id: str, task: dict) -> dict:
    body = dict(task)
    body["etag"] = _etag(task)
    body["selfLink"] = f"https://www.googleapis.com/tasks/v1/lists/{list_id}/tasks/{task['id']}"
    return body


def tasks_list(r):
    """Like Google: pages of ``maxResults`` (default 20, at most 100) with ``nextPageToken``; completed
    tasks only with ``showCompleted`` (default true); hidden ones (completed in Gmail or the Tasks app,
    or cleared) only with ``showHidden``; deleted ones only with ``showDeleted``."""
    list_id = _list_id(r)
    show_completed = str(r.args.get("showCompleted", "true")).lower() == "true"
    show_hidden = str(r.args.get("showHidden", "false")).lower() == "true"
    show_deleted = str(r.args.get("showDeleted", "false")).lower() == "true"
    items = [t for t in r.box.tasks[list_id].values()
             if (show_completed or t["status"] != "completed") and (show_hidden or not t.get("hidden"))
             and (show_deleted or not t.get("deleted"))]
    size, start = _page(r, default=20, most=100)
    body = {"kind": "tasks#tasks", "etag": '"local"'}
    if items[start:start + size]:
        body["items"] = [_public_task(list_id, t) for t in items[start:start + size]]
    if start + size < len(items):
        body["nextPageToken"] = str(start + size)
    return body


def _task(r) -> tuple[str, dict]:
    list_id = _list_id(r)
    task = r.box.tasks[list_id].get(r.params["task"])
    if task is None or task.get("deleted"):
        raise ApiError(404, "Requested entity was not found.", "notFound")
    return list_id, task


def tasks_get(r):
    return _public_task(*_task(r))


def tasks_insert(r):
    list_id = _list_id(r)
    data = r.json()
    task_id = r.box.new_task_id()
    task = {"kind": "tasks#task", "id": task_id, "title": "", "status": "needsAction",
            "position": f"{len(r.box.tasks[list_id]):020d}", "links": []}
    _apply(task, {"title": "", **data})
    r.box.tasks[list_id][task_id] = task
    return _public_task(list_id, task)


def tasks_patch(r):
    list_id, task = _task(r)
    _apply(task, r.json())
    return _public_task(list_id, task)


def tasks_delete(r):
    """Google keeps a deleted task, marked ``deleted``, for ``tasks.list(showDeleted=true)``."""
    _, task = _task(r)
    task["deleted"] = True
    task["updated"] = rfc3339(time.time())
    return None


ROUTES = [
    ("GET", "tasks/v1/users/@me/lists", "tasks.tasklists.list", tasklists_list),
    ("POST", "tasks/v1/users/@me/lists", "tasks.tasklists.insert", tasklists_insert),
    ("GET", "tasks/v1/users/@me/lists/{tasklist}", "tasks.tasklists.get", tasklists_get),
    ("DELETE", "tasks/v1/users/@me/lists/{tasklist}", "tasks.tasklists.delete", tasklists_delete),
    ("GET", "tasks/v1/lists/{tasklist}/tasks", "tasks.tasks.list", tasks_list),
    ("POST", "tasks/v1/lists/{tasklist}/tasks", "tasks.tasks.insert", tasks_insert),
    ("GET", "tasks/v1/lists/{tasklist}/tasks/{task}", "tasks.tasks.get", tasks_get),
    ("PATCH", "tasks/v1/lists/{tasklist}/tasks/{task}", "tasks.tasks.patch", tasks_patch),
    ("PUT", "tasks/v1/lists/{tasklist}/tasks/{task}", "tasks.tasks.update", tasks_patch),
    ("DELETE", "tasks/v1/lists/{tasklist}/tasks/{task}", "tasks.tasks.delete", tasks_delete),
]
