#!/usr/bin/env python3
"""IAM users for the least-privilege test (tests/e2e_iam.rs) on a moto_server
started with INITIAL_NO_AUTH_ACTION_COUNT=3.

Usage: iam_users.py ENDPOINT POLICIES_JSON

POLICIES_JSON maps a user name to its policy document (a JSON string). The
first three IAM calls are the only unauthenticated ones moto lets through:
they make an `admin` user allowed everything and its access key. Every call
after that is signed with the admin's key (moto checks the signature and the
admin's policy), so the users, their inline policies and keys are made as
an administrator would make them. Prints {"admin": {...}, USER: {...}} with
each `access_key_id` and `secret_access_key` on stdout.
"""
import json
import sys

import boto3

ADMIN_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
)


def client(endpoint, key=None, secret=None):
    return boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key or "bootstrap",
        aws_secret_access_key=secret or "bootstrap",
    )


def main():
    endpoint, policies_file = sys.argv[1], sys.argv[2]
    with open(policies_file) as f:
        policies = json.load(f)
    # The three unauthenticated calls.
    iam = client(endpoint)
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="admin", PolicyDocument=ADMIN_POLICY)
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    out = {"admin": {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}}
    # Everything else as the admin.
    iam = client(endpoint, out["admin"]["access_key_id"], out["admin"]["secret_access_key"])
    for user, document in policies.items():
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName=user, PolicyDocument=document)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        out[user] = {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
