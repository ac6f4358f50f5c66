"""``make campaign-sim`` at 2,000 recipients (local.campaign_sim): the shipped campaign, paced to a
10-segments-a-second sender, on the emulator's throughput model and a clock ten times real time.
Every recipient is sent exactly once, nothing overflows Twilio's queue or expires in it, the
campaign takes no more than 1.1 times the sender's ideal time, and costs at most $5 of AWS per
million recipients."""

from __future__ import annotations

from local.campaign_sim import simulate


def test_a_paced_campaign_of_2000_recipients(deployed_workflows, emulator):
    # Given a sender of 10 segments a second and 2,000 recipients of a one-segment message
    # When the campaign runs (its Wait states and Twilio's queue on one fast clock)
    result = simulate(deployed_workflows, emulator, recipients=2000, sender_mps=10)

    # Then everyone is sent once, in the sender's time, and the queue never overflows
    assert result["execution"] == "SUCCEEDED", result
    assert result["sent_once"] == result["recipients"] == result["campaign_sent"] == 2000
    assert (result["duplicates"], result["lost"]) == (0, 0), result
    assert (result["queue_overflow"], result["expired"]) == (0, 0), result
    assert result["ideal_seconds"] == 200
    assert result["simulated_seconds"] <= 1.1 * result["ideal_seconds"], result
    # no message waited longer than two batches take to drain (20 s), with the clock's jitter
    assert result["max_queue_seconds"] <= 40, result
    assert 0 < result["aws_cost_per_million_usd"] <= 5, result
    assert result["state_transitions"] >= 20 * 4  # a child execution per batch: counted
