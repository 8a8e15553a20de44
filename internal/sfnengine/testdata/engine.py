"""moto_server running state machines in LocalStack's ASL interpreter
(moto/stepfunctions/parser), with the supplements orgpatch's engine test
needs where the interpreter lacks a documented Step Functions feature.

Usage: python3 engine.py [moto_server arguments]

Every supplement is small, named and switchable: ORGPATCH_SUPPLEMENTS is a
comma-separated list of the ones to apply (default: all of them); anything
not listed stays the interpreter's own. The supplements:

  lambda-endpoint     Lambda tasks are invoked at ORGPATCH_LAMBDA_ENDPOINT
                      (Lambda's Invoke REST API) instead of moto's own Lambda,
                      which would run the function in Docker.
  lambda-error-names  an error Lambda's Invoke API answers (throttling, a
                      service error) fails the task as Lambda.<ErrorCode>, as
                      Step Functions names it ("Handling errors in Step
                      Functions": Lambda.TooManyRequestsException, ...); the
                      interpreter names every one "Exception".
  item-batcher        ItemBatcher: MaxItemsPerBatch or MaxItemsPerBatchPath,
                      and BatchInput; each child execution gets
                      {"Items": [...], "BatchInput": {...}}. The grammar does
                      not know the field at all.
  result-files        ResultWriter writes the child executions' results:
                      SUCCEEDED_0.json, FAILED_0.json, PENDING_0.json beside
                      manifest.json, each a JSON array of executions (Input,
                      Output or Error and Cause, Status), listed in the
                      manifest's ResultFiles. The interpreter writes an empty
                      manifest.
  tolerated-failure   a Map Run whose failed items exceed ToleratedFailureCount
                      or ToleratedFailurePercentage (either, when both are
                      set; any failure when neither is) fails the Map state
                      with States.ExceedToleratedFailureThreshold; a failed
                      batch counts all its items. The interpreter never fails
                      a Map Run for its children, and its grammar takes a
                      literal ToleratedFailurePercentage only as a decimal
                      number (100.0, not 100).
  concurrent-executions
                      StartExecution while another execution runs: moto
                      copies the state machine for the new execution, and the
                      copy reached, through its backend, every running
                      execution's locks (TypeError: cannot pickle
                      '_thread.RLock' object). The copy now shares the backend
                      and the executions list instead.
  clock               Wait states and Retry intervals pass ORGPATCH_TIME_SCALE
                      times as long (e.g. 0.02): a test's time, no AWS feature.

Assumptions where AWS documents nothing: the threshold is checked when every
child has ended (AWS "may continue to run child workflows ... after the
tolerated failure threshold is exceeded"); a Map Run that fails writes no
results.
"""

import json
import os
import sys
import threading
import time

ALL = ["lambda-endpoint", "lambda-error-names", "item-batcher", "result-files", "tolerated-failure",
       "concurrent-executions", "clock"]
SUPPLEMENTS = [s for s in os.environ.get("ORGPATCH_SUPPLEMENTS", ",".join(ALL)).split(",") if s]
for s in SUPPLEMENTS:
    if s not in ALL:
        sys.exit(f"ORGPATCH_SUPPLEMENTS: {s!r} is not one of {', '.join(ALL)}")

from moto.core.config import default_user_config

# moto's own setting: execute definitions in the ASL interpreter.
default_user_config["stepfunctions"]["execute_state_machine"] = True

from moto.stepfunctions.parser.asl.utils import boto_client as _boto_client


def lambda_endpoint():
    endpoint = os.environ["ORGPATCH_LAMBDA_ENDPOINT"]
    original = _boto_client.boto_client_for

    def boto_client_for(region, service, state_credentials=None):
        if service != "lambda":
            return original(region=region, service=service, state_credentials=state_credentials)
        import boto3
        from botocore.config import Config

        return boto3.client(
            service_name="lambda", region_name=region, endpoint_url=endpoint,
            aws_access_key_id="ak", aws_secret_access_key="sk",
            config=Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1},
                          connect_timeout=60, read_timeout=900),
        )

    # Patched before the modules that import it by name are loaded.
    _boto_client.boto_client_for = boto_client_for


if "lambda-endpoint" in SUPPLEMENTS:
    lambda_endpoint()

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import (
    ExecutionFailedEventDetails,
    HistoryEventType,
    LambdaFunctionFailedEventDetails,
)
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
    DistributedIterationComponent,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import (
    DistributedItemProcessorWorker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3 import (
    ResourceEvalS3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded, ProgramError
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils.json_path import extract_json


def lambda_error_names():
    original = StateTaskLambda._from_error

    def _from_error(self, env, ex):
        if not isinstance(ex, ClientError):
            return original(self, env, ex)
        code = ex.response["Error"]["Code"]
        meta = ex.response["ResponseMetadata"]
        error = f"Lambda.{code}"
        cause = (f"{ex.response['Error'].get('Message', '')} (Service: AWSLambda; Status Code: {meta['HTTPStatusCode']}; "
                 f"Error Code: {code}; Request ID: {meta.get('RequestId', '')}; Proxy: null)")
        return FailureEvent(
            env=env, error_name=CustomErrorName(error), event_type=HistoryEventType.LambdaFunctionFailed,
            event_details=EventDetails(lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(error=error, cause=cause)),
        )

    StateTaskLambda._from_error = _from_error


# The Map states' fields the grammar does not take (ItemBatcher), or that
# the supplements read from the definition (which tolerance is set), by
# state name, kept on the parsed Map state's iteration component.
def _map_states(states):
    for name, state in states.items():
        if state.get("Type") == "Map":
            yield name, state
        for sub in [state.get("ItemProcessor"), state.get("Iterator")] + state.get("Branches", []):
            if sub:
                yield from _map_states(sub.get("States", {}))


def _program_maps(states):
    for name, state in states.states.items():
        if isinstance(state, StateMap):
            yield name, state
            yield from _program_maps(state.iteration_component._states)


def parse_supplemented():
    original = AmazonStateLanguageParser.parse

    def parse(definition):
        doc = json.loads(definition)
        extra = {}
        for name, state in _map_states(doc.get("States", {})):
            # The grammar takes only a decimal number here (100.0), where
            # AWS takes any number (100).
            if "tolerated-failure" in SUPPLEMENTS and isinstance(state.get("ToleratedFailurePercentage"), int):
                state["ToleratedFailurePercentage"] = float(state["ToleratedFailurePercentage"])
            extra[name] = {
                "batcher": state.pop("ItemBatcher", None) if "item-batcher" in SUPPLEMENTS else None,
                "count": "ToleratedFailureCount" in state or "ToleratedFailureCountPath" in state,
                "percentage": "ToleratedFailurePercentage" in state or "ToleratedFailurePercentagePath" in state,
            }
        program, tree = original(json.dumps(doc))
        for name, state in _program_maps(program.states):
            if name in extra:
                state.iteration_component.orgpatch = extra[name]
        return program, tree

    AmazonStateLanguageParser.parse = staticmethod(parse)


parse_supplemented()


def _batches(env, batcher, items):
    state_input = env.states.get_input()
    size = batcher.get("MaxItemsPerBatch")
    if "MaxItemsPerBatchPath" in batcher:
        size = extract_json(batcher["MaxItemsPerBatchPath"], state_input)
    if not isinstance(size, int) or size < 1:
        raise FailureEventException(failure_event=FailureEvent(
            env=env, error_name=StatesErrorName(typ=StatesErrorNameType.StatesRuntime),
            event_type=HistoryEventType.ExecutionFailed,
            event_details=EventDetails(executionFailedEventDetails=ExecutionFailedEventDetails(
                error="States.Runtime", cause=f"MaxItemsPerBatch must be a positive integer, not {size!r}")),
        ))
    batch_input = None
    if "BatchInput" in batcher:
        batch_input = {}
        for key, value in batcher["BatchInput"].items():
            if key.endswith(".$"):
                batch_input[key[:-2]] = extract_json(value, state_input)
            else:
                batch_input[key] = value
    out = []
    for i in range(0, len(items), size):
        b = {"Items": items[i:i + size]}
        if batch_input is not None:
            b["BatchInput"] = batch_input
        out.append(b)
    return out


def _exceeded(extra, eval_input, failed, total):
    if failed == 0:
        return False
    count, percentage = extra.get("count"), extra.get("percentage")
    if not count and not percentage:
        return True
    if count and failed > eval_input.tolerated_failure_count:
        return True
    return bool(percentage) and failed * 100.0 / total > eval_input.tolerated_failure_percentage


def map_run():
    original = DistributedIterationComponent._map_run

    def _map_run(self, env, eval_input):
        extra = getattr(self, "orgpatch", {})
        items = env.stack[-1]
        total = len(items)
        if extra.get("batcher"):
            env.stack[-1] = _batches(env, extra["batcher"], items)
        record = eval_input.map_run_record
        record.orgpatch_results = []
        original(self, env, eval_input)
        if "tolerated-failure" not in SUPPLEMENTS:
            return
        failed = 0
        for r in record.orgpatch_results:
            if r["Status"] != "SUCCEEDED":
                job_input = json.loads(r["Input"])
                failed += len(job_input["Items"]) if extra.get("batcher") else 1
        if _exceeded(extra, eval_input, failed, total):
            cause = (f"The number of failed items ({failed} of {total}) exceeded the tolerated failure "
                     f"threshold ({eval_input.tolerated_failure_count} items, {eval_input.tolerated_failure_percentage}%).")
            raise FailureEventException(failure_event=FailureEvent(
                env=env, error_name=StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold),
                event_type=HistoryEventType.MapRunFailed,
                event_details=EventDetails(executionFailedEventDetails=ExecutionFailedEventDetails(
                    error="States.ExceedToleratedFailureThreshold", cause=cause)),
            ))

    DistributedIterationComponent._map_run = _map_run


# Guards the results' lists (a lock on the record itself would break the
# interpreter's deep copies of it).
_results_lock = threading.Lock()


def child_results():
    original = DistributedItemProcessorWorker._eval_job

    def _eval_job(self, env, job):
        original(self, env, job)
        record = self._map_run_record
        if not hasattr(record, "orgpatch_results"):
            return
        name = f"{record.map_run_arn.split(':')[-1]}-{job.job_index}"
        r = {"ExecutionArn": record.map_run_arn.replace(":mapRun:", ":execution:") + ":" + str(job.job_index),
             "Name": name, "Input": json.dumps(job.job_input, separators=(",", ":")),
             "InputDetails": {"Included": True}}
        state = env.program_state()
        if isinstance(state, ProgramEnded) and job.job_output is not None:
            r["Status"] = "SUCCEEDED"
            r["Output"] = json.dumps(job.job_output, separators=(",", ":"))
            r["OutputDetails"] = {"Included": True}
        else:
            r["Status"] = "FAILED"
            if isinstance(state, ProgramError) and state.error:
                r["Error"] = state.error.get("error", "")
                r["Cause"] = state.error.get("cause", "")
            else:
                r["Error"], r["Cause"] = "States.Runtime", "the child execution did not end"
        with _results_lock:
            record.orgpatch_results.append(r)

    DistributedItemProcessorWorker._eval_job = _eval_job


def result_files():
    def _handle_put_object(env, resource_runtime_part, state_credentials):
        parameters = env.stack.pop()
        env.stack.pop()  # the map's outputs: exported, not passed on
        s3 = ResourceEvalS3._get_s3_client(resource_runtime_part=resource_runtime_part, state_credentials=state_credentials)
        record = env.map_run_record_pool_manager.get_all().pop()
        prefix = parameters["Prefix"]
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        prefix += record.map_run_arn.split(":")[-1] + "/"
        files = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        results = sorted(getattr(record, "orgpatch_results", []), key=lambda r: r["Name"])
        for status in files:
            these = [r for r in results if r["Status"] == status]
            if not these:
                continue
            body = json.dumps(these).encode("utf8")
            key = f"{prefix}{status}_0.json"
            s3.put_object(Bucket=parameters["Bucket"], Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body)})
        key = prefix + "manifest.json"
        manifest = {"DestinationBucket": parameters["Bucket"], "MapRunArn": record.map_run_arn, "ResultFiles": files}
        s3.put_object(Bucket=parameters["Bucket"], Key=key, Body=json.dumps(manifest).encode("utf8"))
        env.stack.append({"MapRunArn": record.map_run_arn, "ResultWriterDetails": {"Bucket": parameters["Bucket"], "Key": key}})

    ResourceEvalS3._handle_put_object = staticmethod(_handle_put_object)


def concurrent_executions():
    import copy as _copy

    from moto.stepfunctions.parser import models as parser_models

    class _Copy:
        copy = staticmethod(_copy.copy)

        @staticmethod
        def deepcopy(x, memo=None):
            memo = {} if memo is None else memo
            for attr in ("backend", "executions"):
                shared = getattr(x, attr, None)
                if shared is not None:
                    memo[id(shared)] = shared
            return _copy.deepcopy(x, memo)

    parser_models.copy = _Copy


def clock():
    scale = float(os.environ.get("ORGPATCH_TIME_SCALE", "1"))
    real_sleep = time.sleep

    class _Time:
        @staticmethod
        def sleep(seconds):
            real_sleep(seconds * scale)

    retrier_decl.time = _Time

    def _wait_interval(self, env, wait_seconds):
        if wait_seconds > 0:
            env.program_state_event.wait(wait_seconds * scale)

    WaitFunction._wait_interval = _wait_interval


if "lambda-error-names" in SUPPLEMENTS:
    lambda_error_names()
map_run()
child_results()
if "result-files" in SUPPLEMENTS:
    result_files()
if "concurrent-executions" in SUPPLEMENTS:
    concurrent_executions()
if "clock" in SUPPLEMENTS:
    clock()

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
