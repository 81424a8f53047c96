package share

import "sync"

// workQueue runs jobs in the order they were added, at most limit at a time. A running job
// may add more jobs: reconcile queues an env's shares as soon as the bindings of its appids
// are known, so that they fill the slots the last queries leave free instead of waiting
// for every query to end.
type workQueue struct {
	limit int

	mu      sync.Mutex
	jobs    []func()
	running int
	waiting bool          // wait was called: no more jobs come from outside
	done    chan struct{} // closed once waiting and nothing is queued or running
	closed  bool
	failure error // the first panic of a job
}

func newWorkQueue(limit int) *workQueue {
	return &workQueue{limit: max(limit, 1), done: make(chan struct{})}
}

// add queues jobs and starts as many as the limit allows.
func (q *workQueue) add(jobs ...func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, jobs...)
	q.startLocked()
}

// wait returns when every job, including those added by jobs, has ended. It returns an error
// when a job panicked.
func (q *workQueue) wait() error {
	q.mu.Lock()
	q.waiting = true
	q.startLocked()
	q.mu.Unlock()
	<-q.done
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.failure
}

func (q *workQueue) startLocked() {
	for q.running < q.limit && len(q.jobs) > 0 {
		job := q.jobs[0]
		q.jobs[0] = nil // let the job's closure go once it has run
		q.jobs = q.jobs[1:]
		q.running++
		go q.run(job)
	}
	if q.waiting && q.running == 0 && len(q.jobs) == 0 && !q.closed {
		q.closed = true
		close(q.done)
	}
}

func (q *workQueue) run(job func()) {
	err := guard(job)
	q.mu.Lock()
	defer q.mu.Unlock()
	if err != nil && q.failure == nil {
		q.failure = err
	}
	q.running--
	q.startLocked()
}
