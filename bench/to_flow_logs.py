#!/usr/bin/env python3
"""Writes flowstat JSON Lines events as the flow logs of other systems, to time their import.

usage: to_flow_logs.py hubble|vpc|nfdump < events.jsonl > log

Each event becomes one record carrying what the format's mapping (doc/formats.md) reads back:
times, endpoints, tags (Hubble labels), ports, protocol and verdict. The records are shaped like
the real ones (`hubble observe -o jsonpb`, VPC version-2 with a header, `nfdump -o csv` of 1.7.1
with its 48 columns and summary) so that a parser does the same work per record.
"""
import json
import sys
from datetime import datetime, timezone

FORMAT = sys.argv[1]
NFDUMP_HEADER = ("ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,"
                 "svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,"
                 "ra,eng,exid,tr")
PROTOCOL_NAMES = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "ICMP6", 132: "SCTP"}


def rfc3339(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}000000Z"


def endpoint(e, side):
    labels = ["k8s:" + t for t in e.get(side + "Tags", [])]
    if e.get(side + "Type") == "ExternalNetwork":
        return {"identity": 2, "labels": ["reserved:world"] + labels}
    return {"ID": 1000, "identity": 4242, "namespace": e["namespace"].strip("/").replace("/", "-"),
            "labels": labels, "pod_name": e[side + "ID"]}


def hubble(e):
    protocol = e.get("protocol", 6)
    key = {6: "TCP", 17: "UDP", 132: "SCTP"}.get(protocol)
    l4 = {key: {"source_port": 40000, "destination_port": e.get("destinationPort", 0)}} if key else {"ICMPv4": {"type": 8}}
    flow = {"time": rfc3339(e["timestamp"]), "verdict": "FORWARDED" if e["action"] == "Accept" else "DROPPED",
            "IP": {"source": e.get("sourceIP", "10.0.0.1"), "destination": e.get("destinationIP", "10.0.0.2"),
                   "ipVersion": "IPv4"},
            "l4": l4, "source": endpoint(e, "source"), "destination": endpoint(e, "destination"), "Type": "L3_L4",
            "node_name": "cluster/worker-1", "is_reply": False, "traffic_direction": "EGRESS",
            "Summary": "TCP Flags: SYN"}
    if e["action"] != "Accept":
        flow["drop_reason_desc"] = "POLICY_DENIED"
    return json.dumps({"flow": flow, "node_name": "cluster/worker-1", "time": flow["time"]}, separators=(",", ":"))


def vpc(e):
    start = e["timestamp"] // 1000
    return (f"2 123456789010 eni-0a1b2c3d {e.get('sourceIP', '10.0.0.1')} {e.get('destinationIP', '10.0.0.2')} 40000 "
            f"{e.get('destinationPort', 0)} {e.get('protocol', 6)} 3 180 {start} {start + 60} "
            f"{'ACCEPT' if e['action'] == 'Accept' else 'REJECT'} OK")


def nfdump(e):
    ts = datetime.fromtimestamp(e["timestamp"] // 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    protocol = PROTOCOL_NAMES.get(e.get("protocol", 6), str(e.get("protocol", 6)))
    fwd = 64 if e["action"] == "Accept" else 130
    return (f"{ts},{ts},0.020,{e.get('sourceIP', '10.0.0.1')},{e.get('destinationIP', '10.0.0.2')},40000,"
            f"{e.get('destinationPort', 0)},{protocol},........,{fwd},0,3,180,0,0,0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,"
            "00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,"
            + ",".join(["0-0-0"] * 10) + ",    0.000,    0.000,    0.000,127.0.0.1,0/0,1,2025-11-20 00:00:00.000")


def main():
    write = sys.stdout.write
    if FORMAT == "vpc":
        write("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end "
              "action log-status\n")
    if FORMAT == "nfdump":
        write(NFDUMP_HEADER + "\n")
    convert = {"hubble": hubble, "vpc": vpc, "nfdump": nfdump}[FORMAT]
    n = 0
    for line in sys.stdin:
        write(convert(json.loads(line)) + "\n")
        n += 1
    if FORMAT == "nfdump":
        write(f"Summary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n{n},{n * 180},{n * 3},0,0,60\n")


if __name__ == "__main__":
    main()
