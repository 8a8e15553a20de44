"""Run a crosstest scenario through boto3 and print what boto3 saw.

Reads the scenario (JSON) on stdin: the endpoint, region and management
credentials, and the steps, each a service, an operation (its API name), its
parameters and whether it acts as the management account or as the member
session the AssumeRole step opened. Parameters may name values returned by
earlier steps as "${Name}". Writes one JSON list on stdout: per step its
response (ResponseMetadata dropped, timestamps as ISO 8601 strings) or its
error code and message. Paginated steps (page_size set) use boto3's paginator
and report the merged result.
"""

import datetime
import json
import re
import sys

import boto3
import botocore.config
import botocore.exceptions
from botocore import xform_name


def substitute(value, names):
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)\}", lambda m: names[m.group(1)], value)
    if isinstance(value, list):
        return [substitute(v, names) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, names) for k, v in value.items()}
    return value


def plain(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    return value


def main():
    plan = json.load(sys.stdin)
    config = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})
    sessions = {
        "mgmt": boto3.session.Session(
            aws_access_key_id=plan["access_key_id"],
            aws_secret_access_key=plan["secret_access_key"],
            region_name=plan["region"],
        )
    }
    names = dict(plan.get("names") or {})
    out = []
    for step in plan["steps"]:
        client = sessions[step["as"]].client(
            step["service"], endpoint_url=plan["endpoint"], config=config
        )
        method = xform_name(step["operation"])
        params = substitute(step.get("params") or {}, names)
        result = {"name": step["name"]}
        try:
            if step.get("page_size"):
                pages = client.get_paginator(method).paginate(
                    **params, PaginationConfig={"PageSize": step["page_size"]}
                )
                response = pages.build_full_result()
            else:
                response = getattr(client, method)(**params)
            result["response"] = plain(response)
        except botocore.exceptions.ClientError as err:
            result["error"] = {
                "code": err.response["Error"]["Code"],
                "message": err.response["Error"].get("Message", ""),
            }
        out.append(result)
        for key in step.get("capture") or []:
            if "response" in result and key in result["response"]:
                names[key] = result["response"][key]
        creds = result.get("response", {}).get("Credentials")
        if step["operation"] == "AssumeRole" and creds:
            sessions["member"] = boto3.session.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name=plan["region"],
            )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
