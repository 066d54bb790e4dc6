// The demo grows with the project; see README.md.
console.log('belay demo: nothing to show yet');
