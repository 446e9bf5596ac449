"""The scheduler service (`narrative-archive schedule`): crawls on a schedule, as subprocesses.

- plan.py: triggers from schedule.yml, and when each job first runs after a (re)start
- jobs.py: one crawl subprocess: its crawl_runs row, timeout, stop, stderr tail
- service.py: the APScheduler service, signals, and `run_scheduler` for the CLI
- lock.py: one scheduler per archive
- log.py: one greppable line per event on stderr
"""
