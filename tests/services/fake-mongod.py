#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A small in-memory server that speaks the MongoDB wire protocol.

Monje's MongoDB backend talks to it through libmongoc exactly as it would
talk to mongod: OP_QUERY for the legacy handshake, OP_MSG for everything
else (document sequences included). It implements what Monje uses and
nothing more: the handshake commands (hello, isMaster, buildInfo, ping,
endSessions), insert, find, count, findAndModify, delete, listCollections,
getMore and killCursors, with MongoDB's semantics for the query subset
Monje accepts ($eq $ne $gt $gte $lt $lte $in $nin $exists $and $or $nor on
paths through objects; an array field matches when one of its elements
does), sort, skip, limit, projection and the update operators $set, $unset,
$inc, with MongoDB's error codes.

Python standard library only. Usage: fake-mongod.py [--port N]; it prints
"fake-mongod listening on PORT" once ready and serves until killed.
"""

import argparse
import functools
import socketserver
import struct
import sys
import threading
import time

OP_REPLY = 1
OP_QUERY = 2004
OP_MSG = 2013

# ---- BSON -------------------------------------------------------------------


class Int64(int):
    """An integer that is written as int64 whatever its size."""


class ObjectId(bytes):
    def __repr__(self):
        return "ObjectId('%s')" % self.hex()


class Binary:
    def __init__(self, subtype, data):
        self.subtype = subtype
        self.data = data

    def __eq__(self, other):
        return (isinstance(other, Binary)
                and (self.subtype, self.data) == (other.subtype, other.data))

    def __hash__(self):
        return hash((self.subtype, self.data))


class DateTime(int):
    """Milliseconds since the epoch."""


class Timestamp:
    def __init__(self, time_, increment):
        self.time = time_
        self.increment = increment


def _cstring(data, pos):
    end = data.index(b"\x00", pos)
    return data[pos:end].decode("utf-8"), end + 1


def decode_document(data, pos=0):
    """Returns (dict, position after the document)."""
    (length,) = struct.unpack_from("<i", data, pos)
    end = pos + length
    pos += 4
    out = {}
    while pos < end - 1:
        kind = data[pos]
        pos += 1
        key, pos = _cstring(data, pos)
        value, pos = _decode_value(kind, data, pos)
        out[key] = value
    return out, end


def _decode_value(kind, data, pos):
    if kind == 0x01:
        return struct.unpack_from("<d", data, pos)[0], pos + 8
    if kind == 0x02:
        (n,) = struct.unpack_from("<i", data, pos)
        return data[pos + 4:pos + 4 + n - 1].decode("utf-8"), pos + 4 + n
    if kind == 0x03:
        return decode_document(data, pos)
    if kind == 0x04:
        doc, end = decode_document(data, pos)
        return list(doc.values()), end
    if kind == 0x05:
        (n,) = struct.unpack_from("<i", data, pos)
        subtype = data[pos + 4]
        return Binary(subtype, bytes(data[pos + 5:pos + 5 + n])), pos + 5 + n
    if kind == 0x07:
        return ObjectId(data[pos:pos + 12]), pos + 12
    if kind == 0x08:
        return data[pos] != 0, pos + 1
    if kind == 0x09:
        return DateTime(struct.unpack_from("<q", data, pos)[0]), pos + 8
    if kind == 0x0A:
        return None, pos
    if kind == 0x10:
        return struct.unpack_from("<i", data, pos)[0], pos + 4
    if kind == 0x11:
        increment, time_ = struct.unpack_from("<II", data, pos)
        return Timestamp(time_, increment), pos + 8
    if kind == 0x12:
        return Int64(struct.unpack_from("<q", data, pos)[0]), pos + 8
    raise ValueError("BSON type 0x%02x is not supported here" % kind)


def encode_document(doc):
    body = b"".join(_encode_element(key, value) for key, value in doc.items())
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def _encode_element(key, value):
    name = key.encode("utf-8") + b"\x00"
    if isinstance(value, bool):
        return b"\x08" + name + (b"\x01" if value else b"\x00")
    if isinstance(value, DateTime):
        return b"\x09" + name + struct.pack("<q", value)
    if isinstance(value, Int64):
        return b"\x12" + name + struct.pack("<q", value)
    if isinstance(value, int):
        if -2**31 <= value < 2**31:
            return b"\x10" + name + struct.pack("<i", value)
        return b"\x12" + name + struct.pack("<q", value)
    if isinstance(value, float):
        return b"\x01" + name + struct.pack("<d", value)
    if isinstance(value, str):
        text = value.encode("utf-8")
        return b"\x02" + name + struct.pack("<i", len(text) + 1) + text + b"\x00"
    if isinstance(value, dict):
        return b"\x03" + name + encode_document(value)
    if isinstance(value, (list, tuple)):
        return b"\x04" + name + encode_document({str(i): v for i, v in enumerate(value)})
    if isinstance(value, ObjectId):
        return b"\x07" + name + bytes(value)
    if isinstance(value, Binary):
        return (b"\x05" + name + struct.pack("<i", len(value.data)) + bytes([value.subtype])
                + value.data)
    if isinstance(value, Timestamp):
        return b"\x11" + name + struct.pack("<II", value.increment, value.time)
    if value is None:
        return b"\x0A" + name
    raise TypeError("cannot encode %r" % (value,))


# ---- values as MongoDB compares them ---------------------------------------

_object_id_counter = [0]


def new_object_id():
    _object_id_counter[0] += 1
    return ObjectId(struct.pack(">I", int(time.time())) + b"fake"
                    + struct.pack(">I", _object_id_counter[0]))


def bracket(value):
    """MongoDB's BSON type order; values compare only within a bracket."""
    if value is None:
        return 1
    if isinstance(value, bool):
        return 8
    if isinstance(value, (int, float)) and not isinstance(value, DateTime):
        return 2
    if isinstance(value, str):
        return 3
    if isinstance(value, dict):
        return 4
    if isinstance(value, list):
        return 5
    if isinstance(value, Binary):
        return 6
    if isinstance(value, ObjectId):
        return 7
    if isinstance(value, DateTime):
        return 9
    return 10


def compare(a, b):
    ba, bb = bracket(a), bracket(b)
    if ba != bb:
        return -1 if ba < bb else 1
    if ba == 4:
        for (ka, va), (kb, vb) in zip(a.items(), b.items()):
            c = compare(ka, kb) or compare(va, vb)
            if c:
                return c
        return (len(a) > len(b)) - (len(a) < len(b))
    if ba == 5:
        for va, vb in zip(a, b):
            c = compare(va, vb)
            if c:
                return c
        return (len(a) > len(b)) - (len(a) < len(b))
    if ba == 1:
        return 0
    if ba == 6:
        a, b = (a.subtype, a.data), (b.subtype, b.data)
    if ba == 3:
        a, b = a.encode("utf-8"), b.encode("utf-8")
    return (a > b) - (a < b)


def equal(a, b):
    return bracket(a) == bracket(b) and compare(a, b) == 0


class CommandError(Exception):
    def __init__(self, code, name, message):
        super().__init__(message)
        self.code = code
        self.name = name
        self.message = message


def bad_value(message):
    return CommandError(2, "BadValue", message)


def lookup(doc, path):
    """(found, value) for a dotted path through objects."""
    value = doc
    for segment in path.split("."):
        if not isinstance(value, dict) or segment not in value:
            return False, None
        value = value[segment]
    return True, value


def candidates(found, value):
    if not found:
        return []
    if isinstance(value, list):
        return [value] + value
    return [value]


def field_matches(doc, path, op, arg):
    found, value = lookup(doc, path)
    values = candidates(found, value)
    if op == "$eq":
        if arg is None:
            return not found or any(v is None for v in values)
        return any(equal(v, arg) for v in values)
    if op == "$ne":
        return not field_matches(doc, path, "$eq", arg)
    if op in ("$gt", "$gte", "$lt", "$lte"):
        test = {"$gt": lambda c: c > 0, "$gte": lambda c: c >= 0,
                "$lt": lambda c: c < 0, "$lte": lambda c: c <= 0}[op]
        return any(bracket(v) == bracket(arg) and test(compare(v, arg)) for v in values)
    if op == "$in":
        if not isinstance(arg, list):
            raise bad_value("$in needs an array")
        return any(field_matches(doc, path, "$eq", a) for a in arg)
    if op == "$nin":
        if not isinstance(arg, list):
            raise bad_value("$nin needs an array")
        return not field_matches(doc, path, "$in", arg)
    if op == "$exists":
        return found == bool(arg)
    raise bad_value("unknown operator: %s" % op)


def is_operator_object(value):
    return isinstance(value, dict) and len(value) > 0 and next(iter(value)).startswith("$")


def matches(doc, query):
    for key, value in query.items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(value, list) or not value:
                raise bad_value("%s argument must be a non-empty array" % key)
            results = (matches(doc, q) for q in value)
            if key == "$and" and not all(results):
                return False
            if key == "$or" and not any(results):
                return False
            if key == "$nor" and any(results):
                return False
        elif key.startswith("$"):
            raise bad_value("unknown top level operator: %s" % key)
        elif is_operator_object(value):
            for op, arg in value.items():
                if not field_matches(doc, key, op, arg):
                    return False
        elif not field_matches(doc, key, "$eq", value):
            return False
    return True


def sort_documents(docs, spec):
    def cmp(a, b):
        for path, direction in spec.items():
            found_a, va = lookup(a, path)
            found_b, vb = lookup(b, path)
            c = compare(va if found_a else None, vb if found_b else None)
            if c:
                return c if direction > 0 else -c
        return 0
    return sorted(docs, key=functools.cmp_to_key(cmp))


def _tree(paths):
    tree = {}
    for path in paths:
        node = tree
        segments = path.split(".")
        for segment in segments[:-1]:
            node = node.setdefault(segment, {})
        node[segments[-1]] = True
    return tree


def _project(value, tree, keep):
    if isinstance(value, dict):
        out = {}
        for key, member in value.items():
            rule = tree.get(key)
            if rule is None:
                if not keep:
                    out[key] = member
            elif rule is True:
                if keep:
                    out[key] = member
            else:
                inner = _project(member, rule, keep)
                if inner is not _DROP:
                    out[key] = inner
        return out
    if isinstance(value, list):
        return [p for p in (_project(v, tree, keep) for v in value) if p is not _DROP]
    return _DROP if keep else value


_DROP = object()


def project(doc, projection):
    if not projection:
        return doc
    keep_id = bool(projection.get("_id", 1))
    rules = {k: bool(v) for k, v in projection.items() if k != "_id"}
    keep = any(rules.values()) or (not rules and keep_id)
    out = _project(doc, _tree(rules), keep)
    if keep and keep_id and "_id" in doc:
        out = {"_id": doc["_id"], **out}
    elif not keep_id:
        out.pop("_id", None)
    return out


def _describe(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return type(value).__name__


def apply_update(doc, update):
    """The updated copy of doc; raises CommandError like mongod."""
    doc = {k: _deep_copy(v) for k, v in doc.items()}
    if not any(k.startswith("$") for k in update):
        replacement = dict(update)
        if "_id" in replacement and not equal(replacement["_id"], doc["_id"]):
            raise CommandError(66, "ImmutableField",
                               "After applying the update, the (immutable) field '_id' was "
                               "found to have been altered")
        replacement.pop("_id", None)
        return {"_id": doc["_id"], **replacement}

    seen = []
    for op, fields in update.items():
        if op not in ("$set", "$unset", "$inc"):
            raise CommandError(9, "FailedToParse", "Unknown modifier: %s" % op)
        for path in fields:
            for other in seen:
                if path == other or path.startswith(other + ".") or other.startswith(path + "."):
                    raise CommandError(40, "ConflictingUpdateOperators",
                                       "Updating the path '%s' would create a conflict at '%s'"
                                       % (path, other))
            seen.append(path)
            if path == "_id" or path.startswith("_id."):
                raise CommandError(66, "ImmutableField",
                                   "Performing an update on the path '_id' would modify the "
                                   "immutable field '_id'")

    for op, fields in update.items():
        for path, arg in fields.items():
            segments = path.split(".")
            holder = doc
            for segment in segments[:-1]:
                if segment not in holder:
                    if op == "$unset":
                        holder = None
                        break
                    holder[segment] = {}
                elif not isinstance(holder[segment], dict):
                    if op == "$unset":
                        holder = None
                        break
                    raise CommandError(28, "PathNotViable",
                                       "Cannot create field '%s' in element {%s: %s}"
                                       % (segments[segments.index(segment) + 1], segment,
                                          _describe(holder[segment])))
                holder = holder[segment]
            if holder is None:
                continue
            last = segments[-1]
            if op == "$set":
                holder[last] = _deep_copy(arg)
            elif op == "$unset":
                holder.pop(last, None)
            else:
                if isinstance(arg, bool) or not isinstance(arg, (int, float)):
                    raise CommandError(14, "TypeMismatch",
                                       "Cannot increment with non-numeric argument")
                current = holder.get(last, 0)
                if isinstance(current, bool) or not isinstance(current, (int, float)):
                    raise CommandError(14, "TypeMismatch",
                                       "Cannot apply $inc to a value of non-numeric type. "
                                       "{_id: %r} has the field '%s' of non-numeric type %s"
                                       % (doc["_id"], last, _describe(current)))
                holder[last] = current + arg
    return doc


def _deep_copy(value):
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


# ---- the server -------------------------------------------------------------

class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.databases = {}     # name -> {collection -> [documents]}
        self.connections = 0

    def collection(self, db, name, create=False):
        collections = self.databases.setdefault(db, {})
        if name not in collections:
            if not create:
                return []
            collections[name] = []
        return collections[name]


STORE = Store()


def _cursor(db, name, batch):
    return {"cursor": {"id": Int64(0), "ns": "%s.%s" % (db, name), "firstBatch": batch}, "ok": 1.0}


def command(body, sequences):
    """Runs one command; returns the reply document."""
    name = next(iter(body))
    lower = name.lower()
    db = body.get("$db", "admin")

    if lower in ("hello", "ismaster"):
        with STORE.lock:
            STORE.connections += 1
            connection_id = STORE.connections
        return {"helloOk": True, "ismaster": True, "isWritablePrimary": True,
                "maxBsonObjectSize": 16 * 1024 * 1024, "maxMessageSizeBytes": 48000000,
                "maxWriteBatchSize": 100000, "localTime": DateTime(int(time.time() * 1000)),
                "logicalSessionTimeoutMinutes": 30, "connectionId": connection_id,
                "minWireVersion": 0, "maxWireVersion": 13, "readOnly": False, "ok": 1.0}
    if lower == "buildinfo":
        return {"version": "5.0.0", "versionArray": [5, 0, 0, 0],
                "maxBsonObjectSize": 16 * 1024 * 1024, "ok": 1.0}
    if lower in ("ping", "endsessions", "killcursors"):
        return {"ok": 1.0}

    with STORE.lock:
        if name == "insert":
            documents = list(body.get("documents", [])) + sequences.get("documents", [])
            collection = STORE.collection(db, body[name], create=True)
            errors = []
            n = 0
            for index, doc in enumerate(documents):
                if "_id" not in doc:
                    doc = {"_id": new_object_id(), **doc}
                if any(equal(d["_id"], doc["_id"]) for d in collection):
                    errors.append({"index": index, "code": 11000,
                                   "errmsg": "E11000 duplicate key error collection: %s.%s "
                                             "index: _id_ dup key: { _id: %r }"
                                             % (db, body[name], doc["_id"])})
                    if body.get("ordered", True):
                        break
                    continue
                collection.append(doc)
                n += 1
            reply = {"n": n, "ok": 1.0}
            if errors:
                reply["writeErrors"] = errors
            return reply

        if name == "find":
            query = body.get("filter", {})
            docs = [d for d in STORE.collection(db, body[name]) if matches(d, query)]
            if body.get("sort"):
                docs = sort_documents(docs, body["sort"])
            skip = int(body.get("skip", 0))
            limit = abs(int(body.get("limit", 0)))
            docs = docs[skip:]
            if limit:
                docs = docs[:limit]
            return _cursor(db, body[name], [project(d, body.get("projection")) for d in docs])

        if name == "getMore":
            return {"cursor": {"id": Int64(0), "ns": "%s.%s" % (db, body.get("collection")),
                               "nextBatch": []}, "ok": 1.0}

        if name == "count":
            query = body.get("query") or {}
            docs = [d for d in STORE.collection(db, body[name]) if matches(d, query)]
            return {"n": len(docs), "ok": 1.0}

        if name == "findAndModify":
            collection = STORE.collection(db, body[name])
            for index, doc in enumerate(collection):
                if matches(doc, body.get("query", {})):
                    break
            else:
                return {"lastErrorObject": {"n": 0, "updatedExisting": False}, "value": None,
                        "ok": 1.0}
            if body.get("remove"):
                del collection[index]
                return {"lastErrorObject": {"n": 1}, "value": doc, "ok": 1.0}
            new = apply_update(doc, body.get("update", {}))
            collection[index] = new
            return {"lastErrorObject": {"n": 1, "updatedExisting": True},
                    "value": project(new if body.get("new") else doc, body.get("fields")),
                    "ok": 1.0}

        if name == "delete":
            collection = STORE.collection(db, body[name])
            n = 0
            for spec in list(body.get("deletes", [])) + sequences.get("deletes", []):
                keep = []
                removed = 0
                for doc in collection:
                    if (spec.get("limit", 0) == 0 or removed == 0) and matches(doc, spec["q"]):
                        removed += 1
                    else:
                        keep.append(doc)
                collection[:] = keep
                n += removed
            return {"n": n, "ok": 1.0}

        if name == "listCollections":
            names = sorted(STORE.databases.get(db, {}))
            return _cursor(db, "$cmd.listCollections",
                           [{"name": n, "type": "collection", "options": {},
                             "info": {"readOnly": False}} for n in names])

    return {"ok": 0.0, "errmsg": "no such command: '%s'" % name, "code": 59,
            "codeName": "CommandNotFound"}


def run_command(body, sequences):
    try:
        return command(body, sequences)
    except CommandError as error:
        return {"ok": 0.0, "errmsg": error.message, "code": error.code, "codeName": error.name}


class Handler(socketserver.BaseRequestHandler):
    def read_exactly(self, n):
        data = b""
        while len(data) < n:
            chunk = self.request.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def send(self, request_id, op_code, payload):
        header = struct.pack("<iiii", 16 + len(payload), request_id, request_id, op_code)
        self.request.sendall(header + payload)

    def handle(self):
        try:
            while True:
                header = self.read_exactly(16)
                length, request_id, _, op_code = struct.unpack("<iiii", header)
                data = self.read_exactly(length - 16)
                if op_code == OP_QUERY:
                    self.handle_query(request_id, data)
                elif op_code == OP_MSG:
                    self.handle_msg(request_id, data)
                else:
                    print("fake-mongod: op code %d not supported" % op_code, file=sys.stderr)
                    return
        except (ConnectionError, OSError):
            return

    def handle_query(self, request_id, data):
        pos = 4
        _, pos = _cstring(data, pos)
        pos += 8
        query, pos = decode_document(data, pos)
        if "$query" in query:
            query = query["$query"]
        reply = run_command(query, {})
        payload = struct.pack("<iqii", 0, 0, 0, 1) + encode_document(reply)
        self.send(request_id, OP_REPLY, payload)

    def handle_msg(self, request_id, data):
        (flags,) = struct.unpack_from("<I", data, 0)
        end = len(data) - (4 if flags & 1 else 0)
        pos = 4
        body = None
        sequences = {}
        while pos < end:
            kind = data[pos]
            pos += 1
            if kind == 0:
                body, pos = decode_document(data, pos)
            else:
                (size,) = struct.unpack_from("<i", data, pos)
                section_end = pos + size
                identifier, inner = _cstring(data, pos + 4)
                documents = []
                while inner < section_end:
                    doc, inner = decode_document(data, inner)
                    documents.append(doc)
                sequences[identifier] = documents
                pos = section_end
        reply = run_command(body, sequences)
        if flags & 2:   # moreToCome: the client wants no reply
            return
        self.send(request_id, OP_MSG, struct.pack("<I", 0) + b"\x00" + encode_document(reply))


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with Server(("127.0.0.1", args.port), Handler) as server:
        print("fake-mongod listening on %d" % server.server_address[1], flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
