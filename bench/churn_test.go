package bench

import (
	"net/http"
	"testing"
)

// A terminating endpoint counts as drained only by correct answers from
// the other endpoints: failures (a reload's 503, a refused connection)
// carry no pod and must not complete the streak.
func TestDrainedAnswerNeedsACorrectAnswerFromAnotherEndpoint(t *testing.T) {
	for _, tc := range []struct {
		code         int
		service, pod string
		want         bool
	}{
		{http.StatusOK, "churn-a", "churn-a-0", true},
		{http.StatusOK, "churn-a", "churn-a-1", true},
		{http.StatusOK, "churn-a", "churn-a-2", false}, // the terminating endpoint still serves
		{http.StatusServiceUnavailable, "", "", false}, // the controller's own error page
		{0, "", "", false}, // transport error
		{http.StatusOK, "churn-b", "churn-b-0", false},         // misrouted
		{http.StatusOK, "churn-a", "", false},                  // an answer without a pod
		{http.StatusBadGateway, "churn-a", "churn-a-0", false}, // not a correct answer
	} {
		if got := drainedAnswer(tc.code, tc.service, tc.pod); got != tc.want {
			t.Errorf("drainedAnswer(%d, %q, %q) = %t, want %t", tc.code, tc.service, tc.pod, got, tc.want)
		}
	}
}
